import type { Recorder } from './recorder.js'
import { waitFor } from './wait-for.js'
import { deadBackend } from './backends.js'
import { PUBLISHER, type World, type WorldInit } from './world.js'

/** Every edge that can reach an up-to-date peer should serve the newest version within this long (reported, not required). */
export const CONVERGE_BOUND_MS = 5000
/** How long a scenario waits for its expectations before it gives up on them (a busy machine is slow, not wrong). */
const MET_LIMIT_MS = 90_000
/** Time for gossip to settle where nothing is expected to arrive. */
const SETTLE_MS = 1000

export interface ScenarioContext {
  world: World
  recorder: Recorder
  /** Deterministic choices for this seed. */
  random: () => number
}

export interface Scenario {
  name: string
  description: string
  /** Versions go out in waves under this policy, edges labelled by index. */
  rollout?: WorldInit['rollout']
  run: (context: ScenarioContext) => Promise<void>
}

/** Waves take their bakes, a report interval or two each, and gossip: a good change reaches the last wave within this. */
const ROLLOUT_BOUND_MS = 15_000

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Waits until every expectation so far is met; a scenario ends only then, so nothing is judged before it had its chance. */
async function untilMet (recorder: Recorder): Promise<void> {
  await waitFor('every expectation to be met', () => recorder.allMet() ? true : undefined, MET_LIMIT_MS, 50).catch(() => {})
}

function pick<T> (items: T[], count: number, random: () => number): T[] {
  return [...items].map(item => ({ item, key: random() })).sort((a, b) => a.key - b.key).slice(0, count).map(({ item }) => item)
}

async function publishTo ({ world, recorder }: ScenarioContext, label: string, edges = world.edgeNames()): Promise<number> {
  const version = await world.publish()
  recorder.mark(`publish v…${String(version).slice(-5)}`)
  recorder.expect(label, edges, version, CONVERGE_BOUND_MS)
  return version
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'rollout-waves',
    description: 'Under three waves (two canaries, three in europe, the rest; 1 s bakes) a good change moves wave by wave; a change to a backend nothing listens on stops at the canaries and rolls back, and no other edge ever serves it.',
    rollout: {
      policy: 'waves:\n  - {name: canary, edges: {tier: canary}, bake: 1s}\n  - {name: europe, edges: {region: eu}, bake: 1s}\n  - {name: everyone}\n',
      labels: index => index < 2 ? { tier: 'canary' } : index < 5 ? { region: 'eu' } : {}
    },
    async run (context) {
      const { world, recorder } = context
      const reported = (): number => world.publisherStatus()?.edges.filter(edge => edge.takesRollouts).length ?? 0
      await waitFor('every edge reported to the publisher', () => reported() === world.edgeNames().length ? true : undefined, MET_LIMIT_MS, 50)
      const good = await world.publish()
      recorder.mark('a good change')
      recorder.expect('the good change, wave by wave', world.edgeNames(), good, ROLLOUT_BOUND_MS)
      await untilMet(recorder)
      const bad = await world.publish(await deadBackend())
      recorder.mark('a change to a dead backend')
      const rollback = await waitFor('the rollback', () => {
        const status = world.publisherStatus()
        return status?.rollout?.version === bad && status.rollout.state === 'rolled-back' && (status.version ?? 0) > bad ? status.version ?? undefined : undefined
      }, MET_LIMIT_MS, 20)
      recorder.expect('the rollback, on every edge', world.edgeNames(), rollback, CONVERGE_BOUND_MS)
      await untilMet(recorder)
      const canaries = world.edgeNames().slice(0, 2)
      for (const change of recorder.served.filter(change => change.version === bad && !canaries.includes(change.edge))) {
        recorder.errors.push(`${change.edge} served version ${bad}, whose rollout failed at the canaries`)
      }
    }
  },
  {
    name: 'fan-out',
    description: 'Three versions published one after another reach every edge.',
    async run (context) {
      for (let i = 1; i <= 3; i++) {
        await publishTo(context, `version ${i} reaches every edge`)
        await sleep(SETTLE_MS)
      }
      await untilMet(context.recorder)
    }
  },
  {
    name: 'isolated-publisher',
    description: 'The publisher is cut off from every edge while it publishes twice; after the heal all edges converge.',
    async run (context) {
      const { world, recorder } = context
      await publishTo(context, 'before the partition')
      await sleep(SETTLE_MS)
      const close = recorder.open('publisher isolated')
      await world.cut([PUBLISHER], world.edgeNames())
      await world.publish()
      await sleep(SETTLE_MS / 2)
      const version = await world.publish()
      await sleep(SETTLE_MS)
      world.heal()
      close()
      recorder.expect('after the heal, every edge', world.edgeNames(), version, CONVERGE_BOUND_MS)
      await untilMet(recorder)
    }
  },
  {
    name: 'split-halves',
    description: 'The mesh splits in two, the publisher in one half; its half converges at once, the other after the heal.',
    async run (context) {
      const { world, recorder, random } = context
      const edges = pick(world.edgeNames(), world.edgeNames().length, random)
      const near = edges.slice(0, Math.ceil(edges.length / 2))
      const far = edges.slice(near.length)
      const close = recorder.open('split in two halves')
      await world.cut([PUBLISHER, ...near], far)
      const version = await publishTo(context, "the publisher's half, during the split", near)
      await sleep(SETTLE_MS * 2)
      world.heal()
      close()
      recorder.expect('the other half, after the heal', far, version, CONVERGE_BOUND_MS)
      await untilMet(recorder)
    }
  },
  {
    name: 'flapping-link',
    description: "One edge's links go down and up five times while versions are published; it ends up with the newest.",
    async run (context) {
      const { world, recorder, random } = context
      const [flapper = ''] = pick(world.edgeNames(), 1, random)
      const others = world.edgeNames().filter(name => name !== flapper)
      for (let i = 1; i <= 5; i++) {
        const close = recorder.open(`${flapper} cut off (${i})`)
        await world.cut([flapper], [PUBLISHER, ...others])
        await publishTo(context, `flap ${i}: every other edge`, others)
        await sleep(700)
        world.heal()
        close()
        await sleep(700)
      }
      const version = Math.max(...recorder.published.map(p => p.version))
      recorder.expect(`${flapper} after the last heal`, [flapper], version, CONVERGE_BOUND_MS)
      await untilMet(recorder)
    }
  },
  {
    name: 'restart-in-partition',
    description: 'An edge cut off from the publisher is killed, a version is published, and it restarts: it serves its persisted config at once and converges through the other edges.',
    async run (context) {
      const { world, recorder, random } = context
      await publishTo(context, 'before the partition')
      await sleep(SETTLE_MS * 2)
      const [victim = ''] = pick(world.edgeNames(), 1, random)
      const close = recorder.open(`${victim} cut off from the publisher`)
      await world.cut([PUBLISHER], [victim])
      recorder.mark(`kill ${victim}`)
      await world.killEdge(victim)
      const version = await publishTo(context, 'the others, while it is down', world.edgeNames().filter(name => name !== victim))
      await sleep(SETTLE_MS)
      recorder.mark(`restart ${victim}`)
      await world.restartEdge(victim)
      recorder.expect(`${victim} after its restart, through other edges`, [victim], version, CONVERGE_BOUND_MS)
      await untilMet(recorder)
      close()
      world.heal()
    }
  },
  {
    name: 'late-joiners',
    description: 'Edges that join after the last publish converge by sync (gossip never re-delivers).',
    async run (context) {
      const { world, recorder } = context
      const version = await publishTo(context, 'the first edges')
      await sleep(SETTLE_MS)
      recorder.mark('late edges join')
      const late = await world.addEdges(Math.max(2, Math.floor(world.edgeNames().length / 2)))
      recorder.expect('late joiners', late, version, CONVERGE_BOUND_MS)
      await untilMet(recorder)
    }
  },
  {
    name: 'publisher-replacement',
    description: 'The publisher crashes and a replacement whose clock is an hour behind takes over: versions keep going up.',
    async run (context) {
      const { world, recorder } = context
      const before = await publishTo(context, 'the first publisher')
      await sleep(SETTLE_MS)
      recorder.mark('publisher crashes')
      await world.killPublisher()
      await sleep(SETTLE_MS)
      recorder.mark('replacement starts, clock 1 h behind')
      await world.startPublisher(() => Date.now() - 3_600_000)
      await sleep(SETTLE_MS * 2)
      const after = await publishTo(context, 'the replacement publisher')
      if (after <= before) recorder.errors.push(`version went backwards across the replacement: ${before} then ${after}`)
      await untilMet(recorder)
    }
  }
]
