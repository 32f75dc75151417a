import type { Command } from 'commander'
import { UsageError } from '../usage-error.js'
import { alignColumns } from '../columns.js'
import { parseHostPort, readFlagFile, readToken } from '../inputs.js'

/** GETs a JSON document, with a bearer token and a CA to trust when given. */
async function getJson (url: URL, token: string | undefined, ca: string | undefined): Promise<Record<string, unknown>> {
  // Loaded here: every other command, `dime --help` included, starts without them.
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  return await new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5000, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, ...(ca !== undefined ? { ca } : {}) }, response => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.on('end', () => {
        if (response.statusCode === 401) reject(new Error('HTTP 401: give the endpoint\'s token with --token-file'))
        else if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode ?? 0}`))
        else resolve(JSON.parse(body) as Record<string, unknown>)
      })
    })
    req.on('timeout', () => { req.destroy(new Error('no answer within 5 s')) })
    req.on('error', reject)
    req.end()
  })
}

export function statusCommand (program: Command): void {
  program.command('status')
    .description('Show what a publisher or an edge reports on its /status endpoint')
    .requiredOption('--admin <host:port>', 'the publisher\'s --admin or an edge\'s --serve address; https://HOST:PORT for one serving TLS')
    .option('--token-file <file>', 'the endpoint\'s bearer token (the publisher\'s admin.token)')
    .option('--ca-file <file>', 'a CA certificate (PEM) to trust for an https:// endpoint')
    .option('--json', 'print the raw JSON', false)
    .action(async (flags: { admin: string, tokenFile?: string, caFile?: string, json: boolean }) => {
      const https = flags.admin.startsWith('https://')
      const { host, port } = parseHostPort(flags.admin.replace(/^https?:\/\//, ''), '--admin')
      const url = `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}/status`
      const token = flags.tokenFile === undefined ? undefined : readToken(flags.tokenFile)
      const ca = flags.caFile === undefined ? undefined : readFlagFile(flags.caFile, '--ca-file')
      let status: Record<string, unknown>
      try {
        status = await getJson(new URL(url), token, ca)
      } catch (err) {
        throw new UsageError(`cannot get ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`)
      }
      process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status))
    })
}

function formatStatus (status: Record<string, unknown>): string {
  const lines: string[] = []
  for (const [key, value] of Object.entries(status)) {
    if (!Array.isArray(value)) {
      lines.push(`${key}: ${value === null ? '-' : String(value)}`)
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
    rows.map(row => columns.map(column => row[column] === undefined || row[column] === null ? '-' : String(row[column]))))
}
