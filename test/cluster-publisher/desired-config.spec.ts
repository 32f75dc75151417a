import test from 'ava'
import fc from 'fast-check'
import { buildDesiredConfig } from '../../cluster-publisher/desired-config.js'
import type { Fragment } from '../../cluster-publisher/fragment-files.js'
import type { FragmentValidator } from '../../cluster-publisher/fragment-schema.js'
import type { JsonObject } from '../../cluster-publisher/json.js'
import { canonicalBytes } from '../../node/canonical-json.js'

const anything: FragmentValidator = () => undefined

function router (service: string, rule = `Host(\`${service}\`)`): JsonObject {
  return { rule, service }
}

function fragment (source: string, routers: Record<string, JsonObject>): Fragment {
  return { source, content: { http: { routers } } }
}

const leaf = fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: 0, max: 3 }), fc.boolean())
const tree: fc.Arbitrary<JsonObject> = fc.letrec<{ node: JsonObject }>(tie => ({
  node: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.oneof({ depthSize: 'small' }, leaf, tie('node')), { maxKeys: 3 })
})).node
const fragments = fc.uniqueArray(fc.record({ source: fc.string({ minLength: 1, maxLength: 6 }), content: tree }), {
  selector: f => f.source, maxLength: 6
})

test('the merge does not depend on the order fragments arrive in', t => {
  fc.assert(fc.property(fragments, fc.nat(), (list, seed) => {
    const shuffled = [...list].sort((a, b) => ((a.source.charCodeAt(0) * 31 + seed) % 7) - ((b.source.charCodeAt(0) * 31 + seed) % 7))
    const one = buildDesiredConfig(list, new Map(), anything)
    const other = buildDesiredConfig(shuffled, new Map(), anything)
    return Buffer.from(canonicalBytes(one.config)).equals(canonicalBytes(other.config)) &&
      JSON.stringify(one.fragments) === JSON.stringify(other.fragments)
  }), { numRuns: 300 })
  t.pass()
})

test('every accepted fragment is in the result, and every conflict is detected', t => {
  fc.assert(fc.property(fragments, list => {
    const { config, fragments: reports } = buildDesiredConfig(list, new Map(), anything)
    const bySource = new Map(list.map(f => [f.source, f]))
    for (const report of reports) {
      const content = (bySource.get(report.source) as { content: JsonObject }).content
      const merged = buildDesiredConfig([{ source: '\u0000', content: config }, { source: report.source, content }], new Map(), anything)
      const fits = merged.fragments[1]?.status === 'accepted'
      // An accepted fragment agrees with the result; a rejected one really conflicts with it.
      if ((report.status === 'accepted') !== fits) return false
    }
    return true
  }), { numRuns: 300 })
  t.pass()
})

test('two fragments defining one router differently: the later one is left out and both are named', t => {
  const result = buildDesiredConfig([
    fragment('b.yaml', { whoami: router('other') }),
    fragment('a.yaml', { whoami: router('whoami') }),
    fragment('c.yaml', { video: router('video') })
  ], new Map(), anything)
  t.deepEqual(Object.keys((result.config.http as JsonObject).routers as JsonObject).sort(), ['video', 'whoami'])
  t.deepEqual(result.fragments[1], {
    source: 'b.yaml', status: 'rejected', problem: 'conflict', reason: 'conflicts with a.yaml at http.routers.whoami.rule'
  })
})

test('the same value in two fragments is no conflict', t => {
  const result = buildDesiredConfig([fragment('a', { r: router('s') }), fragment('b', { r: router('s') })], new Map(), anything)
  t.deepEqual(result.fragments.map(r => r.status), ['accepted', 'accepted'])
})

test('a fragment that breaks keeps its last good content; one removed is forgotten', t => {
  const good = buildDesiredConfig([fragment('a', { r: router('s') }), fragment('b', { v: router('v') })], new Map(), anything)
  const broken = buildDesiredConfig([fragment('a', { r: router('s') }), { source: 'b', error: 'is not valid YAML: x' }], good.lastGood, anything)
  t.deepEqual(broken.fragments[1], { source: 'b', status: 'kept-last-good', problem: 'unreadable', reason: 'is not valid YAML: x' })
  t.deepEqual(broken.config, good.config)
  const removed = buildDesiredConfig([fragment('a', { r: router('s') })], broken.lastGood, anything)
  t.false(removed.lastGood.has('b'))
  t.deepEqual(Object.keys((removed.config.http as JsonObject).routers as JsonObject), ['r'])
})

test('a schema violation is reported; with no last good content the fragment is left out', t => {
  const refuseB: FragmentValidator = content => JSON.stringify(content).includes('"v"') ? 'does not match' : undefined
  const result = buildDesiredConfig([fragment('a', { r: router('s') }), fragment('b', { v: router('v') })], new Map(), refuseB)
  t.deepEqual(result.fragments[1], { source: 'b', status: 'rejected', problem: 'invalid', reason: 'does not match' })
  t.false(JSON.stringify(result.config).includes('"v"'))
})

test('an edit that now conflicts falls back to the last good content', t => {
  const first = buildDesiredConfig([fragment('a', { r: router('s') }), fragment('b', { v: router('v') })], new Map(), anything)
  const second = buildDesiredConfig([fragment('a', { r: router('s') }), fragment('b', { r: router('x') })], first.lastGood, anything)
  t.is(second.fragments[1]?.status, 'kept-last-good')
  t.is(second.fragments[1]?.problem, 'conflict')
  t.deepEqual(second.config, first.config)
})

test('a key named __proto__ stays data', t => {
  const result = buildDesiredConfig([{ source: 'a', content: JSON.parse('{"http":{"routers":{"__proto__":{"rule":"x","service":"y"}}}}') as JsonObject }], new Map(), anything)
  t.is(Buffer.from(canonicalBytes(result.config)).toString(), '{"http":{"routers":{"__proto__":{"rule":"x","service":"y"}}}}')
  t.is(({} as Record<string, unknown>).rule, undefined)
})
