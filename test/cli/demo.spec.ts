import test from 'ava'
import { existsSync } from 'node:fs'
import { dime } from '../fixtures/dime-process.js'

test('the demo brings up edges that all serve one version, prints how to try them, and cleans up', async t => {
  const result = await dime('demo', '--edges', '2', '--duration', '10')
  t.is(result.code, 0, result.stderr)
  const root = /cdn-on-a-dime demo in (\S+)/.exec(result.stdout)?.[1] ?? ''
  t.regex(result.stdout, /curl -i http:\/\/127\.0\.0\.1:\d+\/config/)
  const tables = result.stdout.split('\n\n').filter(block => block.startsWith('EDGE'))
  const last = tables.at(-1) ?? ''
  const versions = [...last.matchAll(/^edge-\d+\s+\S+\s+(\d+)\s/gm)].map(match => match[1])
  t.is(versions.length, 2, last)
  t.is(new Set(versions).size, 1)
  t.regex(result.stdout, /demo stopped/)
  t.false(existsSync(root))
})
