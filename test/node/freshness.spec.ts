import test from 'ava'
import { Freshness } from '../../node/freshness.js'

const at = (ms: number): string => new Date(ms).toISOString()

test('a beacon is a replay unless it names a higher version, or the same version announced later', t => {
  const freshness = new Freshness(0, 60_000)
  freshness.heardBeacon(5, at(1_000_000), 1)
  t.true(freshness.isReplay(5, at(1_000_000)), 'the same beacon again')
  t.true(freshness.isReplay(4, at(2_000_000)), 'an older version, however recent its clock says')
  t.false(freshness.isReplay(5, at(1_000_001)))
  // A replacement publisher an hour behind announces a higher version: it counts.
  t.false(freshness.isReplay(6, at(1_000_000 - 3_600_000)))
  freshness.heardBeacon(6, at(1_000_000 - 3_600_000), 2)
  t.false(freshness.isReplay(6, at(1_000_000 - 3_600_000 + 10_000)), 'and so do its later beacons')
})

test('stale is reported after the bound without news, from the start or from the last news', t => {
  const freshness = new Freshness(1_000, 60_000)
  t.false(freshness.isStale(61_000))
  t.true(freshness.isStale(61_001))
  freshness.heardBeacon(1, at(5), 61_001)
  t.false(freshness.isStale(121_001))
  t.is(freshness.ageMs(121_001), 60_000)
})
