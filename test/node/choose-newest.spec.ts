import test from 'ava'
import fc from 'fast-check'
import { assertNewer, nextVersion } from '../../node/choose-newest.js'
import { RollbackError, SameVersionError } from '../../node/errors.js'

test('a higher version passes; equal and lower are refused with their own errors', t => {
  t.notThrows(() => { assertNewer(5, 4) })
  t.throws(() => { assertNewer(5, 5) }, { instanceOf: SameVersionError })
  t.throws(() => { assertNewer(3, 5) }, { instanceOf: RollbackError })
})

test('the next version is above everything known, whatever the clock says', t => {
  fc.assert(fc.property(fc.nat(), fc.nat(), (highest, now) => {
    const next = nextVersion(highest, now)
    return next > highest && next >= now
  }))
  t.pass()
})
