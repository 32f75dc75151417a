import type { ServedConfig } from './served-config.js'

/** A proxy got the config served: a 200, or a 304 for the config it already had. */
export interface ConfigFetch {
  readonly version: number
  readonly at: string
  /** The fetcher's address and User-Agent (Traefik's HTTP provider, normally). */
  readonly from: string
  readonly userAgent: string | null
}

/** The fetch an answer records, if it gave the proxy the config served; `now` and who asked as the server saw them. */
export function fetchOf (answer: ConfigAnswer, served: ServedConfig | undefined, now: Date, from: string | undefined, userAgent: string | undefined): ConfigFetch | undefined {
  if (served === undefined || answer.statusCode === 503) return undefined
  return { version: served.head.version, at: now.toISOString(), from: from ?? 'unknown', userAgent: userAgent ?? null }
}

/** What `/config` answers, whichever server answers it (the first one at start, then fastify). */
export interface ConfigAnswer {
  statusCode: 200 | 304 | 503
  headers: Record<string, string>
  body?: Buffer | string
}

/**
 * The stored canonical bytes untouched (or, when they hold sealed secrets, the
 * same config with them opened), so the same config always hashes the same in
 * Traefik; the version travels in headers. Before the first verified config,
 * 503, which Traefik treats as an error and keeps the config it had.
 */
export function configAnswer (served: ServedConfig | undefined, ifNoneMatch: string | undefined): ConfigAnswer {
  if (served === undefined) {
    return { statusCode: 503, headers: { 'retry-after': '1', 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ error: 'no verified config yet' }) }
  }
  const headers = {
    etag: served.etag,
    'x-dime-version': String(served.head.version),
    'x-dime-issued-at': served.head.issuedAt,
    'x-dime-key-id': served.head.keyId,
    'cache-control': 'no-cache'
  }
  if (ifNoneMatch === served.etag) return { statusCode: 304, headers }
  return { statusCode: 200, headers: { ...headers, 'content-type': 'application/json' }, body: Buffer.from(served.body.buffer, served.body.byteOffset, served.body.byteLength) }
}
