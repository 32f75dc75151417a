import test from 'ava'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { Rollouts } from '../../cluster-publisher/rollouts.js'
import { rolloutPolicyFile } from '../../cluster-publisher/sources/rollout-policy-file.js'
import { memoryEnvelopeStore } from '../../node/envelope-store.js'
import { trustPolicy } from '../../node/envelope.js'
import { silentLogger } from '../../node/logger.js'
import { RolloutTrack } from '../../node/rollout-track.js'
import { signingKeyPair } from '../../simulations/world.js'
import { waitFor } from '../../simulations/wait-for.js'
import { tempDir } from '../fixtures/temp-dir.js'

function rollouts (): Rollouts {
  const { signing, trusted } = signingKeyPair('policy test')
  const track = new RolloutTrack({ trust: trustPolicy('m', [trusted]), candidateStore: memoryEnvelopeStore(), headStore: memoryEnvelopeStore(), log: silentLogger() })
  return new Rollouts({ track, edges: () => [], publishHead: async () => 0, carried: async () => undefined, release: async () => {}, rollBack: async () => {}, persist: async () => {}, ended: () => {} },
    { signingKey: signing, log: silentLogger(), registry: new Registry(), reportGraceMs: 1000, reannounceMs: 1000 })
}

test('an edited policy file is taken; an unusable edit or a deleted file is refused and the last good policy stays in force', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'rollout.yaml')
  await writeFile(path, 'waves:\n  - {name: canary, count: 1, bake: 10s}\n  - {name: rest}\n')
  const source = rolloutPolicyFile(path)
  const held = rollouts()
  held.usePolicy(source.read())
  source.onChange(() => { held.usePolicy(source.read()) })
  source.start?.()
  t.teardown(() => { source.stop?.() })
  t.deepEqual(held.policyStatus(), { where: path, waves: ['canary', 'rest'], error: null })
  t.true(held.inWaves())

  await writeFile(path, 'waves:\n  - {name: first, percent: 10, bake: 1m}\n  - {name: second, percent: 50, bake: 1m}\n  - {name: rest}\n')
  await waitFor('the edit taken', () => held.policyStatus().waves.length === 3 ? true : undefined, 30_000)
  await writeFile(path, 'waves:\n  - {name: first, percent: 0, bake: 1m}\n')
  await waitFor('the unusable edit refused', () => held.policyStatus().error ?? undefined, 30_000)
  t.deepEqual(held.policyStatus(), {
    where: path,
    waves: ['first', 'second', 'rest'],
    error: `${path}: waves[0] ("first"): "percent" must be a number above 0 and at most 100; the last good policy (${path}) stays in force`
  })
  await rm(path)
  await waitFor('the deleted file refused', () => /cannot read it \(ENOENT\)/.test(held.policyStatus().error ?? '') ? true : undefined, 30_000)
  t.deepEqual(held.policyStatus().waves, ['first', 'second', 'rest'])
  t.true(held.inWaves(), 'a file that cannot be read does not turn rollouts off')
})

test('with no policy ever given, an unusable one says that no policy is in force', t => {
  const held = rollouts()
  held.usePolicy({ where: 'rollout.yaml', text: 'waves: nope' })
  t.deepEqual(held.policyStatus(), { where: null, waves: [], error: 'rollout.yaml: "waves" must be a list of at least one wave; no policy is in force' })
  t.false(held.inWaves())
})
