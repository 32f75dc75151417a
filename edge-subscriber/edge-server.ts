import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { Envelope } from '../node/envelope.js'
import { healthRoutes } from '../node/http/health-routes.js'
import type { EdgeStatus } from './edge-status.js'

export interface EdgeServerDeps {
  registry: Registry
  /** The verified envelope to serve, if any. */
  current: () => Envelope | undefined
  status: () => EdgeStatus
}

const nullableString = { type: ['string', 'null'] } as const
const statusResponse = {
  type: 'object',
  properties: {
    mesh: { type: 'string' },
    peerId: { type: 'string' },
    version: { type: ['integer', 'null'] },
    configSha256: nullableString,
    issuedAt: nullableString,
    receivedAt: nullableString,
    keyId: nullableString,
    keyTrusted: { type: ['boolean', 'null'] },
    lastNewsAgeSeconds: { type: ['integer', 'null'] },
    stale: { type: 'boolean' },
    trustedKeyIds: { type: 'array', items: { type: 'string' } },
    peers: { type: 'array', items: { type: 'string' } },
    listen: { type: 'array', items: { type: 'string' } }
  }
} as const

/**
 * What Traefik's HTTP provider polls. `/config` serves the stored canonical
 * bytes untouched, so the same config always hashes the same in Traefik; the
 * version travels in headers. Before the first verified config it answers 503,
 * which Traefik treats as an error and keeps the config it had.
 */
export async function buildEdgeServer (deps: EdgeServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(healthRoutes, {
    registry: deps.registry,
    notReadyReason: () => deps.current() === undefined ? 'no verified config yet' : undefined
  })
  app.get('/config', async (request, reply) => {
    const envelope = deps.current()
    if (envelope === undefined) {
      return await reply.code(503).header('retry-after', '1').send({ error: 'no verified config yet' })
    }
    const etag = `"${envelope.head.bodySha256}"`
    void reply
      .header('etag', etag)
      .header('x-dime-version', String(envelope.head.version))
      .header('x-dime-issued-at', envelope.head.issuedAt)
      .header('x-dime-key-id', envelope.head.keyId)
      .header('cache-control', 'no-cache')
    if (request.headers['if-none-match'] === etag) return await reply.code(304).send()
    return await reply.type('application/json').send(Buffer.from(envelope.body.buffer, envelope.body.byteOffset, envelope.body.byteLength))
  })
  app.get('/status', { schema: { response: { 200: statusResponse } } }, async () => deps.status())
  return app
}
