import type { Command } from 'commander'
import { parseHostPort, readFlagFile, readToken } from './inputs.js'
import { UsageError } from './usage-error.js'

export interface AdminFlags { admin: string, tokenFile?: string, caFile?: string }

/** How long the admin endpoint may take to answer: an abort or a pin signs, writes and announces before it does. */
const ADMIN_TIMEOUT_MS = 30_000

/** The flags that say which admin endpoint to ask, and how. */
export function adminOptions (command: Command, adminHelp = 'the publisher\'s --admin address; https://HOST:PORT for one serving TLS'): Command {
  return command
    .requiredOption('--admin <host:port>', adminHelp)
    .option('--token-file <file>', 'the endpoint\'s bearer token (the publisher\'s admin.token)')
    .option('--ca-file <file>', 'a CA certificate (PEM) to trust for an https:// endpoint')
}

/** GETs a JSON document from the endpoint the flags name; a refusal says what the endpoint said. */
export async function getAdminJson (flags: AdminFlags, path: string): Promise<Record<string, unknown>> {
  return await adminRequest(flags, 'GET', path)
}

/** POSTs a JSON document (or nothing) to the endpoint the flags name, and reads its JSON answer. */
export async function postAdminJson (flags: AdminFlags, path: string, body: object = {}): Promise<Record<string, unknown>> {
  return await adminRequest(flags, 'POST', path, body)
}

async function adminRequest (flags: AdminFlags, method: string, path: string, body?: object): Promise<Record<string, unknown>> {
  const https = flags.admin.startsWith('https://')
  const { host, port } = parseHostPort(flags.admin.replace(/^https?:\/\//, ''), '--admin')
  const url = `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`
  const token = flags.tokenFile === undefined ? undefined : readToken(flags.tokenFile)
  const ca = flags.caFile === undefined ? undefined : readFlagFile(flags.caFile, '--ca-file')
  try {
    return await requestJson(method, new URL(url), token, ca, body)
  } catch (err) {
    throw new UsageError(`cannot get ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`)
  }
}

/** Asks for a JSON document, with a bearer token and a CA to trust when given. */
async function requestJson (method: string, url: URL, token: string | undefined, ca: string | undefined, body: object | undefined): Promise<Record<string, unknown>> {
  // Loaded here: every other command, `dime --help` included, starts without them.
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  return await new Promise((resolve, reject) => {
    const headers = { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }
    const req = request(url, { method, timeout: ADMIN_TIMEOUT_MS, headers, ...(ca !== undefined ? { ca } : {}) }, response => {
      let answer = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { answer += chunk })
      response.on('end', () => {
        if (response.statusCode === 401) reject(new Error('HTTP 401: give the endpoint\'s token with --token-file'))
        else if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode ?? 0}${errorOf(answer)}`))
        else resolve(JSON.parse(answer) as Record<string, unknown>)
      })
    })
    req.on('timeout', () => { req.destroy(new Error(`no answer within ${ADMIN_TIMEOUT_MS / 1000} s`)) })
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

/** The `error` of a JSON answer, as ": what it says". */
function errorOf (body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error
    return typeof error === 'string' ? `: ${error}` : ''
  } catch {
    return ''
  }
}
