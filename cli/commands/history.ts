import type { Command } from 'commander'
import type { Changes, HistoryEntry } from '../../cluster-publisher/version-history.js'
import { adminOptions, getAdminJson, type AdminFlags } from '../admin-client.js'
import { alignColumns } from '../columns.js'
import { UsageError } from '../usage-error.js'

export function historyCommand (program: Command): void {
  adminOptions(program.command('history')
    .description('List the versions the publisher published: when, which fragments changed, and what changed in Traefik\'s terms'))
    .option('--json', 'print the raw JSON', false)
    .action(async (flags: AdminFlags & { json: boolean }) => {
      const { versions } = await getAdminJson(flags, '/history') as { versions: HistoryEntry[] }
      process.stdout.write(flags.json ? `${JSON.stringify(versions, null, 2)}\n` : formatHistory(versions))
    })
}

export function diffCommand (program: Command): void {
  adminOptions(program.command('diff')
    .description('What changed in Traefik\'s terms (routers, services, middlewares…) from one published version to another')
    .argument('<from>', 'the earlier version (dime history lists them)')
    .argument('<to>', 'the later version'))
    .option('--json', 'print the raw JSON', false)
    .action(async (from: string, to: string, flags: AdminFlags & { json: boolean }) => {
      for (const [name, value] of [['<from>', from], ['<to>', to]] as const) {
        if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`${name} "${value}" is not a version number (dime history lists them)`)
      }
      const { changes } = await getAdminJson(flags, `/diff?from=${from}&to=${to}`) as { changes: Record<string, Changes> }
      process.stdout.write(flags.json ? `${JSON.stringify(changes, null, 2)}\n` : formatChanges(changes, `versions ${from} and ${to} hold the same routes`))
    })
}

function formatHistory (versions: HistoryEntry[]): string {
  if (versions.length === 0) return 'no version published by this publisher since it started\n'
  const rows = versions.map(entry => [String(entry.version), entry.issuedAt, entry.sha256.slice(0, 12), entry.fragmentsChanged.join(', ') || '-', entry.summary])
  return `${alignColumns(['VERSION', 'ISSUED AT', 'SHA256', 'FRAGMENTS CHANGED', 'CHANGES'], rows).join('\n')}\n`
}

/** One line per object added (+), changed (~) or removed (-), by kind. */
function formatChanges (changes: Record<string, Changes>, none: string): string {
  const lines = Object.entries(changes).flatMap(([kind, { added, removed, changed }]) => [
    `${kind}:`,
    ...added.map(name => `  + ${name}`),
    ...changed.map(name => `  ~ ${name}`),
    ...removed.map(name => `  - ${name}`)
  ])
  return `${lines.length === 0 ? none : lines.join('\n')}\n`
}
