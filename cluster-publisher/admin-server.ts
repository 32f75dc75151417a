import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { tokenAuth, createHttpServer, type ServerTls } from '../node/http/doors.js'
import { healthRoutes } from '../node/http/health-routes.js'
import type { Registry } from 'prom-client'
import type { PublisherStatus } from './publisher-status.js'
import { UnknownVersionError, type VersionHistory } from './version-history.js'
import { NotLeadingError } from './leadership-transitions.js'
import type { Pin } from './publisher-state.js'
import { consoleRoutes } from './console/console-routes.js'
import { NoRolloutError, type RolloutStatus } from './rollouts.js'

export interface AdminServerDeps {
  registry: Registry
  status: () => PublisherStatus
  notReadyReason: () => string | undefined
  history: Pick<VersionHistory, 'list' | 'diff'>
  pins: { pin: (version: number) => Promise<Pin>, unpin: () => Promise<boolean> }
  rollouts: { promote: (all: boolean) => Promise<RolloutStatus>, abort: () => Promise<RolloutStatus> }
  /** When set, everything but /healthz and /readyz (the probes) needs `Authorization: Bearer <token>`. */
  token?: string | undefined
  /** Serve HTTPS with this certificate (`--tls-cert`, `--tls-key`). */
  tls?: ServerTls | undefined
}

const OPEN_ROUTES = new Set(['/healthz', '/readyz'])

const fragmentSchema = {
  type: 'object',
  properties: {
    source: { type: 'string' },
    status: { type: 'string' },
    problem: { type: 'string' },
    reason: { type: 'string' },
    code: { type: 'string' }
  }
} as const

const skippedSchema = { type: 'object', properties: { source: { type: 'string' }, reason: { type: 'string' } } } as const

const edgeVerdictSchema = {
  type: 'object',
  properties: { peerId: { type: 'string' }, name: { type: ['string', 'null'] }, verdict: { type: 'string' }, reason: { type: ['string', 'null'] } }
} as const

const rolloutSchema = {
  type: ['object', 'null'],
  properties: {
    version: { type: 'integer' },
    bodySha256: { type: 'string' },
    state: { type: 'string' },
    waves: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, bakeMs: { type: 'integer' }, edges: { type: 'array', items: edgeVerdictSchema }, reachedAt: { type: ['string', 'null'] } }
      }
    },
    reached: { type: 'integer' },
    skipped: { type: 'array', items: { type: 'string' } },
    last: { type: 'array', items: { type: 'string' } },
    startedAt: { type: 'string' },
    bakeEndsAt: { type: ['string', 'null'] },
    endedAt: { type: ['string', 'null'] },
    reason: { type: ['string', 'null'] }
  }
} as const

const promoteBody = { type: ['object', 'null'], properties: { all: { type: 'boolean' } }, additionalProperties: false } as const

const statusResponse = {
  type: 'object',
  properties: {
    mesh: { type: 'string' },
    peerId: { type: 'string' },
    keyId: { type: 'string' },
    leader: { type: 'boolean' },
    version: { type: ['integer', 'null'] },
    configSha256: { type: ['string', 'null'] },
    issuedAt: { type: ['string', 'null'] },
    fragments: { type: 'array', items: fragmentSchema },
    skipped: { type: 'array', items: skippedSchema },
    pending: { type: 'array', items: skippedSchema },
    peers: { type: 'array', items: { type: 'string' } },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          peerId: { type: 'string' },
          name: { type: ['string', 'null'] },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          version: { type: ['integer', 'null'] },
          state: { type: 'string' },
          upToDate: { type: 'boolean' },
          stale: { type: 'boolean' },
          propagationMs: { type: ['integer', 'null'] },
          lastSeenSecondsAgo: { type: 'integer' },
          missing: { type: 'boolean' },
          publicAddress: { type: ['string', 'null'] },
          meshAddresses: { type: 'array', items: { type: 'string' } },
          peers: { type: ['integer', 'null'] },
          fetchedVersion: { type: ['integer', 'null'] },
          fetchedSecondsAgo: { type: ['integer', 'null'] },
          takesRollouts: { type: 'boolean' },
          health: {
            type: ['object', 'null'],
            properties: {
              version: { type: 'integer' },
              healthy: { type: 'boolean' },
              failing: { type: 'array', items: { type: 'string' } },
              alreadyDown: { type: 'array', items: { type: 'string' } },
              errors: { type: 'array', items: { type: 'string' } }
            }
          }
        }
      }
    },
    pinned: { type: ['object', 'null'], properties: { version: { type: 'integer' }, since: { type: 'string' } } },
    leadFailure: { type: ['string', 'null'] },
    rollout: rolloutSchema,
    rolloutPolicy: { type: 'object', properties: { where: { type: ['string', 'null'] }, waves: { type: 'array', items: { type: 'string' } }, error: { type: ['string', 'null'] } } },
    lastError: { type: ['string', 'null'] }
  }
} as const

const diffQuery = {
  type: 'object',
  required: ['from', 'to'],
  properties: { from: { type: 'integer', minimum: 1 }, to: { type: 'integer', minimum: 1 } }
} as const

const pinBody = { type: 'object', required: ['version'], properties: { version: { type: 'integer', minimum: 1 } } } as const

/** The answer, or the refusal a user's request can meet: 404 for a version not held, 409 on a replica that does not lead or with no rollout to act on. */
async function refused (reply: FastifyReply, answer: () => unknown): Promise<unknown> {
  try {
    return await answer()
  } catch (err) {
    if (err instanceof UnknownVersionError) return await reply.code(404).send({ error: err.message })
    if (err instanceof NotLeadingError || err instanceof NoRolloutError) return await reply.code(409).send({ error: err.message })
    throw err
  }
}

/**
 * A browser sends the token (its Basic credentials) with any request to this
 * endpoint, whichever page makes it: a POST from another page's origin is refused.
 */
async function refuseOtherOrigins (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const origin = request.headers.origin
  if (request.method !== 'POST' || origin === undefined) return
  if (URL.canParse(origin) && new URL(origin).host === request.headers.host) return
  await reply.code(403).send({ error: `a request from ${origin} to change the publisher is refused: use the fleet page this endpoint serves, or dime` })
}

/** The publisher's admin endpoint, built without listening (tests use `inject`). */
export async function buildAdminServer (deps: AdminServerDeps): Promise<FastifyInstance> {
  const app = createHttpServer(deps.tls)
  if (deps.token !== undefined) {
    const auth = tokenAuth(deps.token)
    app.addHook('onRequest', async (request, reply) => { if (!OPEN_ROUTES.has(request.routeOptions.url ?? '')) await auth(request, reply) })
  }
  app.addHook('onRequest', refuseOtherOrigins)
  await app.register(healthRoutes, { registry: deps.registry, notReadyReason: deps.notReadyReason })
  await app.register(consoleRoutes, { status: deps.status })
  app.get('/status', { schema: { response: { 200: statusResponse } } }, async () => deps.status())
  app.get('/history', async () => ({ versions: deps.history.list() }))
  app.get<{ Querystring: { from: number, to: number } }>('/diff', { schema: { querystring: diffQuery } }, async (request, reply) =>
    await refused(reply, () => ({ from: request.query.from, to: request.query.to, changes: deps.history.diff(request.query.from, request.query.to) })))
  app.post<{ Body: { version: number } }>('/pin', { schema: { body: pinBody } }, async (request, reply) =>
    await refused(reply, async () => ({ pinned: await deps.pins.pin(request.body.version) })))
  app.post('/unpin', async (_request, reply) => await refused(reply, async () => ({ unpinned: await deps.pins.unpin() })))
  app.get('/rollout', { schema: { response: { 200: { type: 'object', properties: { rollout: rolloutSchema } } } } }, async () => ({ rollout: deps.status().rollout }))
  app.post<{ Body: { all?: boolean } | null }>('/rollout/promote', { schema: { body: promoteBody, response: { 200: { type: 'object', properties: { rollout: rolloutSchema } } } } }, async (request, reply) =>
    await refused(reply, async () => ({ rollout: await deps.rollouts.promote(request.body?.all === true) })))
  app.post('/rollout/abort', { schema: { response: { 200: { type: 'object', properties: { rollout: rolloutSchema } } } } }, async (_request, reply) =>
    await refused(reply, async () => ({ rollout: await deps.rollouts.abort() })))
  return app
}
