import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkRun, type Verdict } from './invariants.js'
import { Recorder, type RunRecord } from './recorder.js'
import type { Scenario } from './scenarios.js'
import { World } from './world.js'

export interface RunResult {
  record: RunRecord
  verdict: Verdict
}

/** A deterministic generator for a seed (mulberry32). */
export function seeded (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Runs one scenario on a fresh world and checks the invariants. Always cleans up. */
export async function runScenario (scenario: Scenario, nodes: number, seed: number): Promise<RunResult> {
  const root = await mkdtemp(join(tmpdir(), `dime-sim-${scenario.name}-`))
  const recorder = new Recorder()
  const world = new World({ edges: nodes, root, recorder, rollout: scenario.rollout })
  const onCrash = (err: unknown): void => { recorder.errors.push(String((err as Error).stack ?? err)) }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  try {
    await world.start()
    recorder.sampleEdges(() => world.runningEdges())
    await scenario.run({ world, recorder, random: seeded(seed) })
  } catch (err) {
    recorder.errors.push(`scenario failed: ${(err as Error).message}`)
  } finally {
    recorder.stop()
    await world.stop().catch((err: unknown) => { recorder.errors.push(`stopping: ${(err as Error).message}`) })
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
    await rm(root, { recursive: true, force: true })
  }
  const record = recorder.record(scenario.name, nodes, seed)
  return { record, verdict: checkRun(record) }
}
