import type { Command } from 'commander'
import type { RolloutStatus } from '../../cluster-publisher/rollouts.js'
import { adminOptions, getAdminJson, postAdminJson, type AdminFlags } from '../admin-client.js'
import { alignColumns } from '../columns.js'

export function rolloutCommand (program: Command): void {
  const rollout = program.command('rollout')
    .description('Rollouts in waves: show the one in progress or the last one (the default), promote it, abort it')
  adminOptions(rollout.command('show', { isDefault: true })
    .description('The rollout in progress, or the last one: version, state, waves, each edge\'s health, time left in the bake'))
    .option('--json', 'print the raw JSON', false)
    .action(async (flags: AdminFlags & { json: boolean }) => {
      const { rollout: status } = await getAdminJson(flags, '/rollout') as { rollout: RolloutStatus | null }
      process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatRollout(status, Date.now()))
    })
  adminOptions(rollout.command('promote')
    .description('Reach the next wave now, without waiting for the bake; with --all, release to every edge now (an emergency change: still signed and validated)'))
    .option('--all', 'skip the remaining waves', false)
    .action(async (flags: AdminFlags & { all: boolean }) => {
      const { rollout: status } = await postAdminJson(flags, '/rollout/promote', { all: flags.all }) as { rollout: RolloutStatus }
      process.stdout.write(formatRollout(status, Date.now()))
    })
  adminOptions(rollout.command('abort')
    .description('Roll the version in rollout back now: every edge that took it serves the last released config again'))
    .action(async (flags: AdminFlags) => {
      const { rollout: status } = await postAdminJson(flags, '/rollout/abort') as { rollout: RolloutStatus }
      process.stdout.write(formatRollout(status, Date.now()))
    })
}

/** The rollout as lines: what, where it stands, then each wave's edges with their verdicts. */
export function formatRollout (status: RolloutStatus | null, now: number): string {
  if (status === null) return 'no rollout since this publisher leads (without --rollout, every version goes to every edge at once)\n'
  const left = status.bakeEndsAt === null ? '' : `, ${Math.max(0, Math.ceil((Date.parse(status.bakeEndsAt) - now) / 1000))} s left in the bake`
  const lines = [
    `version ${status.version}: ${status.state}, ${status.reached} of ${status.waves.length} waves reached${left}`,
    ...status.reason === null ? [] : [`reason: ${status.reason}`],
    ...status.skipped.length === 0 ? [] : [`skipped (no edge): ${status.skipped.join(', ')}`],
    ...status.last.length === 0 ? [] : [`last, when it completes (earlier releases, or in no wave): ${status.last.length} edge(s)`]
  ]
  const rows = status.waves.flatMap((wave, i) => {
    const where = i < status.reached ? `reached ${wave.reachedAt ?? ''}` : 'not reached'
    const edges = wave.edges.length > 0 ? wave.edges : [{ peerId: '-', name: null, verdict: '-', reason: null }]
    return edges.map(edge => [wave.name, where, edge.name ?? edge.peerId, edge.verdict, edge.reason ?? ''])
  })
  return `${[...lines, ...alignColumns(['WAVE', 'STATE', 'EDGE', 'HEALTH', 'WHY'], rows)].join('\n')}\n`
}
