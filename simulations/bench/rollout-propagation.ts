import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { configWithRouters } from './configs.js'
import { inTempDir, startDimeMesh, type LoggedProcess, type LogLine } from './node-processes.js'
import { latencies, type Latencies } from './process-propagation.js'

const ARRIVAL_LIMIT_MS = 30_000
const ROUND_GAP_MS = 1000
const REPORT_LIMIT_MS = 120_000

/** Bakes no run waits out: the benchmark promotes and aborts. */
const POLICY = 'waves:\n  - {name: canary, edges: {wave: one}, bake: 1h}\n  - {name: second, edges: {wave: two}, bake: 1h}\n  - {name: everyone}\n'

export interface RolloutPropagation {
  edges: number
  waves: [number, number, number]
  /** From writing the fragment to each first-wave edge's "serving config". */
  editToFirstWave: Latencies
  /** The publisher's "rollout wave reached" (the second wave) to each of its edges serving the version: a head, no body. */
  promotionToWave: Latencies
  /** The publisher's failed verdict (an abort) to each edge that took the version serving the rollback. */
  verdictToRollback: Latencies
}

/**
 * A publisher under a three-wave policy and `size` edge processes: the first
 * `firstWave` in the canary wave, the next `secondWave` in the second. Each
 * round edits the config (the canaries take it), promotes it (the second
 * wave takes it, from a head alone) and aborts it (both waves serve the
 * rollback), timing each step from the publisher's log line to each edge's.
 */
export async function measureRolloutPropagation (size: number, firstWave: number, secondWave: number, rounds: number, routers: number): Promise<RolloutPropagation> {
  const wave = (index: number): string => index <= firstWave ? 'one' : index <= firstWave + secondWave ? 'two' : 'three'
  return await inTempDir('dime-bench-rollouts-', async root => {
    const policy = join(root, 'rollout.yaml')
    await writeFile(policy, POLICY)
    const mesh = await startDimeMesh(root, size, 1, configWithRouters(routers, 'v0').fragment, {
      publisherArgs: ['--rollout', policy],
      edgeArgs: index => ['--label', `wave=${wave(index)}`]
    })
    try {
      const admin = String((await mesh.publisher.line('its admin endpoint', line => line.msg === 'admin endpoint listening')).url)
      await waitForReports(admin, size)
      const [first, second] = [mesh.edges.slice(0, firstWave), mesh.edges.slice(firstWave, firstWave + secondWave)]
      const samples = { edit: [] as number[], promotion: [] as number[], rollback: [] as number[] }
      for (let round = 1; round <= rounds; round++) {
        const began = Date.now()
        const published = mesh.publisher.lines.length
        await mesh.writeFragment(configWithRouters(routers, `v${round}`).fragment)
        const edit = await after(mesh.publisher, published, 'a version in rollout', line => line.msg === 'config published')
        const version = Number(edit.version)
        samples.edit.push(...await servedAfter(first, version, began))
        const promoting = mesh.publisher.lines.length
        await post(admin, '/rollout/promote', { all: false })
        const reached = await after(mesh.publisher, promoting, 'the second wave reached', line => line.msg === 'rollout wave reached' && line.wave === 'second')
        samples.promotion.push(...await servedAfter(second, version, Number(reached.time)))
        const aborting = mesh.publisher.lines.length
        await post(admin, '/rollout/abort', {})
        const verdict = await after(mesh.publisher, aborting, 'the failed verdict', line => typeof line.msg === 'string' && line.msg.startsWith('rollout failed'))
        samples.rollback.push(...await servedAfter([...first, ...second], version + 1, Number(verdict.time)))
        await new Promise(resolve => setTimeout(resolve, ROUND_GAP_MS - (Date.now() - began)))
      }
      return {
        edges: size,
        waves: [firstWave, secondWave, size - firstWave - secondWave],
        editToFirstWave: latencies(samples.edit),
        promotionToWave: latencies(samples.promotion),
        verdictToRollback: latencies(samples.rollback)
      }
    } finally {
      await mesh.stop()
    }
  })
}

/** The first line after the first `from` lines that matches. */
async function after (node: LoggedProcess, from: number, what: string, matches: (line: LogLine) => boolean): Promise<LogLine> {
  return await node.line(what, line => node.lines.indexOf(line) >= from && matches(line), ARRIVAL_LIMIT_MS)
}

/** Each edge's delay from `since` to serving `version` or a later one. */
async function servedAfter (edges: LoggedProcess[], version: number, since: number): Promise<number[]> {
  const lines = await Promise.all(edges.map(async edge => await edge.line(`serving version ${version} or later`, line => line.msg === 'serving config' && Number(line.version) >= version, ARRIVAL_LIMIT_MS)))
  return lines.map(line => Number(line.time) - since)
}

async function post (admin: string, path: string, body: object): Promise<void> {
  const response = await fetch(`${admin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`)
}

/** Until every edge has reported to the publisher (waves are planned from the reports). */
async function waitForReports (admin: string, size: number): Promise<void> {
  const deadline = Date.now() + REPORT_LIMIT_MS
  for (;;) {
    const status = await (await fetch(`${admin}/status`)).json() as { edges: Array<{ takesRollouts: boolean }> }
    if (status.edges.filter(edge => edge.takesRollouts).length >= size) return
    if (Date.now() > deadline) throw new Error(`only ${status.edges.length} of ${size} edges reported within ${REPORT_LIMIT_MS} ms`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}
