import type { Command } from 'commander'
import { adminOptions, getAdminJson, type AdminFlags } from '../admin-client.js'
import { alignColumns } from '../columns.js'

export function statusCommand (program: Command): void {
  adminOptions(program.command('status')
    .description('Show what a publisher or an edge reports on its /status endpoint'), 'the publisher\'s --admin or an edge\'s --serve address; https://HOST:PORT for one serving TLS')
    .option('--json', 'print the raw JSON', false)
    .action(async (flags: AdminFlags & { json: boolean }) => {
      const status = await getAdminJson(flags, '/status')
      process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status))
    })
}

function formatStatus (status: Record<string, unknown>): string {
  const lines: string[] = []
  for (const [key, value] of Object.entries(status)) {
    if (!Array.isArray(value)) {
      lines.push(`${key}: ${cell(value)}`)
    } else if (value.length === 0) {
      lines.push(`${key}: (none)`)
    } else if (value.every(item => typeof item === 'object' && item !== null)) {
      lines.push(`${key}:`, ...table(value as Array<Record<string, unknown>>).map(line => `  ${line}`))
    } else {
      lines.push(`${key}:`, ...value.map(item => `  - ${String(item)}`))
    }
  }
  return `${lines.join('\n')}\n`
}

/** Rows of objects as aligned columns, headed by their keys. */
function table (rows: Array<Record<string, unknown>>): string[] {
  const columns = [...new Set(rows.flatMap(row => Object.keys(row)))]
  return alignColumns(
    columns.map(column => column.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()),
    rows.map(row => columns.map(column => cell(row[column]))))
}

/** One value as text: '-' for none, a list comma-separated, an object (a pin, labels) as KEY=VALUE pairs. */
function cell (value: unknown): string {
  if (value === undefined || value === null) return '-'
  if (Array.isArray(value)) return value.map(cell).join(', ')
  if (typeof value === 'object') return Object.entries(value).map(([key, item]) => `${key}=${cell(item)}`).join(', ') || '-'
  return typeof value === 'string' ? value : JSON.stringify(value)
}
