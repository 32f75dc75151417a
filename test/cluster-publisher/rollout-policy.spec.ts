import test from 'ava'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ROLLOUT_POLICY_CONFIG_MAP, ROLLOUT_POLICY_KEY } from '../../cluster-publisher/constants.js'
import { parseRolloutPolicy, planWaves, RolloutPolicyError, type RolloutPolicy } from '../../cluster-publisher/rollout-policy.js'

const EXAMPLE = `
waves:
  - name: canary
    edges: {tier: canary}   # label selector (all must match)
    bake: 10s
  - name: europe
    edges: {region: eu}
    bake: 30s
  - name: everyone          # no selector: every edge not in an earlier wave
`

test('the example policy reads as three waves with their bakes', t => {
  t.deepEqual(parseRolloutPolicy(EXAMPLE, 'rollout.yaml'), {
    waves: [
      { name: 'canary', select: { labels: { tier: 'canary' } }, bakeMs: 10_000 },
      { name: 'europe', select: { labels: { region: 'eu' } }, bakeMs: 30_000 },
      { name: 'everyone', select: { rest: true }, bakeMs: 0 }
    ]
  })
  t.deepEqual(parseRolloutPolicy('waves:\n  - {name: few, count: 2, bake: 1h30m}\n  - {name: some, percent: 12.5, bake: 250ms}\n', 'p').waves.map(wave => [wave.select, wave.bakeMs]),
    [[{ count: 2 }, 5_400_000], [{ percent: 12.5 }, 250]])
})

test('every malformed policy is refused with what and where', t => {
  const refusals: Array<[string, RegExp]> = [
    ['waves: [', /^rollout\.yaml: not valid YAML/],
    ['- name: a', /^rollout\.yaml: expected a mapping with "waves"/],
    ['waves: []', /"waves" must be a list of at least one wave/],
    ['wave: []', /unknown key "wave"/],
    ['waves:\n  - {name: a, edges: {tier: canary}, bake: 10s, bakes: 3s}', /waves\[0\]: unknown key "bakes"/],
    ['waves:\n  - {name: a, edges: {tier: canary}}\n  - {name: b}', /waves\[0\] \("a"\): "bake" is missing/],
    ['waves:\n  - {name: a, edges: {tier: canary}, bake: -5s}\n  - {name: b}', /waves\[0\] \("a"\): bake "-5s" is not a duration/],
    ['waves:\n  - {name: a, edges: {tier: canary}, bake: 30}\n  - {name: b}', /bake 30 is not a duration/],
    ['waves:\n  - {name: a, edges: {tier: canary}, count: 2, bake: 1s}', /give one of edges, count or percent, not edges and count/],
    ['waves:\n  - {name: a, count: 0, bake: 1s}', /"count" must be a whole number of edges, at least 1/],
    ['waves:\n  - {name: a, percent: 120, bake: 1s}', /"percent" must be a number above 0 and at most 100/],
    ['waves:\n  - {name: a, edges: {}, bake: 1s}', /"edges" must map label keys to values/],
    ['waves:\n  - {name: a, edges: {"bad key": x}, bake: 1s}', /edges: "bad key": "x" is not a label/],
    ['waves:\n  - {name: a, bake: 1s}\n  - {name: b, count: 1}', /waves\[0\] \("a"\) has no edges, count or percent, so it takes every edge left/],
    ['waves:\n  - {name: a, count: 1, bake: 1s}\n  - {name: a}', /waves\[1\]: the name "a" is used twice/],
    ['waves:\n  - {count: 1, bake: 1s}', /waves\[0\]: "name" must be/]
  ]
  for (const [text, message] of refusals) {
    t.throws(() => parseRolloutPolicy(text, 'rollout.yaml'), { instanceOf: RolloutPolicyError, message }, text)
  }
})

const policy = (text: string): RolloutPolicy => parseRolloutPolicy(text, 'p')

test('each edge joins the first wave that takes it; a wave that takes none is skipped; edges no wave takes are the rest', t => {
  const edges = [
    { peerId: 'e1', labels: { tier: 'canary', region: 'eu' } },
    { peerId: 'e2', labels: { region: 'eu' } },
    { peerId: 'e3', labels: { region: 'us' } },
    { peerId: 'e4', labels: {} }
  ]
  t.deepEqual(planWaves(policy(EXAMPLE), edges), {
    waves: [{ name: 'canary', bakeMs: 10_000, edges: ['e1'] }, { name: 'europe', bakeMs: 30_000, edges: ['e2'] }, { name: 'everyone', bakeMs: 0, edges: ['e3', 'e4'] }],
    skipped: [],
    rest: []
  })
  const selective = policy('waves:\n  - {name: asia, edges: {region: asia}, bake: 1s}\n  - {name: eu, edges: {region: eu}, bake: 1s}')
  t.deepEqual(planWaves(selective, edges), { waves: [{ name: 'eu', bakeMs: 1000, edges: ['e1', 'e2'] }], skipped: ['asia'], rest: ['e3', 'e4'] })
})

test('property: a plan puts every edge in exactly one place, counts and shares take what they say, whatever order the edges come in', t => {
  const labelled = fc.uniqueArray(fc.record({ peerId: fc.stringMatching(/^[a-z0-9]{1,8}$/), labels: fc.record({ tier: fc.constantFrom('canary', 'main') }, { requiredKeys: [] }) }), { selector: edge => edge.peerId, maxLength: 40 })
  fc.assert(fc.property(labelled, fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 100 }), (edges, count, percent) => {
    const chosen = policy(`waves:\n  - {name: canary, edges: {tier: canary}, bake: 1s}\n  - {name: few, count: ${count}, bake: 1s}\n  - {name: share, percent: ${percent}, bake: 1s}\n  - {name: rest}`)
    const plan = planWaves(chosen, edges)
    const placed = [...plan.waves.flatMap(wave => wave.edges), ...plan.rest]
    const canaries = edges.filter(edge => edge.labels.tier === 'canary').length
    const afterCanary = edges.length - canaries
    const few = Math.min(count, afterCanary)
    const byName = new Map(plan.waves.map(wave => [wave.name, wave.edges.length]))
    return placed.length === edges.length && new Set(placed).size === edges.length &&
      (byName.get('canary') ?? 0) === canaries &&
      (byName.get('few') ?? 0) === few &&
      (byName.get('share') ?? 0) === (afterCanary - few === 0 ? 0 : Math.max(1, Math.ceil((afterCanary - few) * percent / 100))) &&
      plan.rest.length === 0 &&
      JSON.stringify(planWaves(chosen, [...edges].reverse())) === JSON.stringify(plan)
  }), { numRuns: 300 })
  t.pass()
})

test('the example ConfigMap in manifests/examples holds a policy the publisher takes', t => {
  const configMap = parse(readFileSync(new URL('../../manifests/examples/rollout-policy.yaml', import.meta.url), 'utf8')) as { metadata: { name: string }, data: Record<string, string> }
  t.is(configMap.metadata.name, ROLLOUT_POLICY_CONFIG_MAP)
  const policy = parseRolloutPolicy(configMap.data[ROLLOUT_POLICY_KEY] ?? '', 'example')
  t.deepEqual(policy.waves.map(wave => wave.name), ['canary', 'europe', 'everyone'])
})
