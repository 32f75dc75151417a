import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Server } from 'node:http'
import type { Registry } from 'prom-client'
import { tokenAuth, createHttpServer, type ServerTls } from '../node/http/doors.js'
import { healthRoutes } from '../node/http/health-routes.js'
import type { EdgeStatus } from './edge-status.js'
import type { ServedConfig } from './served-config.js'
import { configAnswer, fetchOf, type ConfigFetch } from './config-answer.js'

export interface EdgeServerDeps {
  registry: Registry
  /** The verified config to serve, if any. */
  current: () => ServedConfig | undefined
  /** Told of each fetch that gave the proxy the config served. */
  fetched: (fetch: ConfigFetch) => void
  status: () => EdgeStatus
  /** When set, /config answers only requests bearing `Authorization: Bearer <token>`. */
  token?: string | undefined
  /** Serve HTTPS with this certificate (`--tls-cert`, `--tls-key`). */
  tls?: ServerTls | undefined
  /** Take over this server's requests once ready (the first server, listenFirst) instead of listening anew. */
  listening?: Server
}

const nullableString = { type: ['string', 'null'] } as const
const statusResponse = {
  type: 'object',
  properties: {
    mesh: { type: 'string' },
    peerId: { type: 'string' },
    name: nullableString,
    labels: { type: 'object', additionalProperties: { type: 'string' } },
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
    publicAddress: nullableString,
    lastFetch: {
      type: ['object', 'null'],
      properties: { version: { type: 'integer' }, at: { type: 'string' }, from: { type: 'string' }, userAgent: nullableString }
    },
    rolloutHealth: {
      type: ['object', 'null'],
      properties: {
        version: { type: 'integer' },
        healthy: { type: 'boolean' },
        probed: { type: 'integer' },
        failing: { type: 'array', items: { type: 'string' } },
        alreadyDown: { type: 'array', items: { type: 'string' } },
        notProbed: { type: 'integer' },
        errors: { type: 'array', items: { type: 'string' } }
      }
    },
    rollout: {
      type: ['object', 'null'],
      properties: {
        version: { type: 'integer' },
        state: { type: 'string' },
        reached: { type: 'integer' },
        waves: { type: 'integer' },
        held: { type: 'boolean' },
        mayServe: { type: 'boolean' }
      }
    }
  }
} as const

/** What Traefik's HTTP provider polls (`/config`, see configAnswer), with the status and the probes. */
export async function buildEdgeServer (deps: EdgeServerDeps): Promise<FastifyInstance> {
  const app = createHttpServer(deps.tls, deps.listening)
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
  const answer = configAnswer(served, request.headers['if-none-match'])
  const sent = await reply.code(answer.statusCode).headers(answer.headers).send(answer.body)
  const fetch = fetchOf(answer, served, new Date(), request.socket.remoteAddress, request.headers['user-agent'])
  if (fetch !== undefined) deps.fetched(fetch)
  return sent
}
