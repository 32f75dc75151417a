import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Registry } from 'prom-client'
import { tokenAuth, createHttpServer, type ServerTls } from '../node/http/doors.js'
import { healthRoutes } from '../node/http/health-routes.js'
import type { EdgeStatus } from './edge-status.js'
import type { ServedConfig } from './served-config.js'

export interface EdgeServerDeps {
  registry: Registry
  /** The verified config to serve, if any. */
  current: () => ServedConfig | undefined
  status: () => EdgeStatus
  /** When set, /config answers only requests bearing `Authorization: Bearer <token>`. */
  token?: string
  /** Serve HTTPS with this certificate (`--tls-cert`, `--tls-key`). */
  tls?: ServerTls
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
    sealedUnopened: { type: 'array', items: { type: 'string' } },
    trustedKeyIds: { type: 'array', items: { type: 'string' } },
    peers: { type: 'array', items: { type: 'string' } },
    listen: { type: 'array', items: { type: 'string' } },
    publicAddress: nullableString
  }
} as const

/**
 * What Traefik's HTTP provider polls. `/config` serves the stored canonical
 * bytes untouched (or, when they hold sealed secrets, the same config with
 * them opened), so the same config always hashes the same in Traefik; the
 * version travels in headers. Before the first verified config it answers 503,
 * which Traefik treats as an error and keeps the config it had.
 */
export async function buildEdgeServer (deps: EdgeServerDeps): Promise<FastifyInstance> {
  const app = createHttpServer(deps.tls)
  await app.register(healthRoutes, {
    registry: deps.registry,
    notReadyReason: () => deps.current() === undefined ? 'no verified config yet' : undefined
  })
  await app.register(async (configRoute) => {
    if (deps.token !== undefined) configRoute.addHook('onRequest', tokenAuth(deps.token))
    configRoute.get('/config', async (request, reply) => await serveConfig(deps, request, reply))
  })
  app.get('/status', { schema: { response: { 200: statusResponse } } }, async () => deps.status())
  return app
}

async function serveConfig (deps: EdgeServerDeps, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const served = deps.current()
  if (served === undefined) {
    return await reply.code(503).header('retry-after', '1').send({ error: 'no verified config yet' })
  }
  void reply
    .header('etag', served.etag)
    .header('x-dime-version', String(served.head.version))
    .header('x-dime-issued-at', served.head.issuedAt)
    .header('x-dime-key-id', served.head.keyId)
    .header('cache-control', 'no-cache')
  if (request.headers['if-none-match'] === served.etag) return await reply.code(304).send()
  return await reply.type('application/json').send(Buffer.from(served.body.buffer, served.body.byteOffset, served.body.byteLength))
}
