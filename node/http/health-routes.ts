import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

export interface HealthRoutesOptions {
  registry: Registry
  /** Why the program is not ready yet, or undefined when it is. */
  notReadyReason: () => string | undefined
}

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' }, reason: { type: 'string' } },
  required: ['status']
} as const

/** `/healthz` (the process answers), `/readyz` (it does its job) and `/metrics` (Prometheus). */
export async function healthRoutes (app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  app.get('/healthz', { schema: { response: { 200: statusSchema } } }, async () => ({ status: 'ok' }))
  app.get('/readyz', { schema: { response: { 200: statusSchema, 503: statusSchema } } }, async (_request, reply) => {
    const reason = options.notReadyReason()
    if (reason === undefined) return { status: 'ready' }
    return await reply.code(503).send({ status: 'not ready', reason })
  })
  app.get('/metrics', async (_request, reply) => {
    return await reply.type(options.registry.contentType).send(await options.registry.metrics())
  })
}
