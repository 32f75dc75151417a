import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Registry } from 'prom-client'
import type { Envelope } from '../node/envelope.js'
import { healthRoutes } from '../node/http/health-routes.js'
import type { EdgeStatus } from './edge-status.js'

export interface EdgeServerDeps {
  registry: Registry
  /** The verified envelope to serve, if any. */
  current: () => Envelope | undefined
  status: () => EdgeStatus
  /** When set, /config answers only requests bearing `Authorization: Bearer <token>`. */
  token?: string
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
  await app.register(async (configRoute) => {
    if (deps.token !== undefined) configRoute.addHook('onRequest', bearerAuth(deps.token))
    configRoute.get('/config', async (request, reply) => await serveConfig(deps, request, reply))
  })
  app.get('/status', { schema: { response: { 200: statusResponse } } }, async () => deps.status())
  return app
}

/** Refuses a request without the right bearer token (compared in constant time). */
function bearerAuth (token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = createHash('sha256').update(token).digest()
  return async (request, reply) => {
    const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? ''
    if (!timingSafeEqual(createHash('sha256').update(presented).digest(), expected)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'a bearer token is required' })
    }
  }
}

async function serveConfig (deps: EdgeServerDeps, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
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
}
