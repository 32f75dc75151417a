import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { createHash, timingSafeEqual } from 'node:crypto'

/** A certificate and key (PEM) to serve HTTPS with. */
export interface ServerTls {
  cert: Buffer
  key: Buffer
}

/** A Fastify instance speaking HTTP, or HTTPS when given a certificate. */
export function createHttpServer (tls: ServerTls | undefined): FastifyInstance {
  // Fastify's types split on the https option; both are the same instance to the routes.
  return (tls === undefined ? Fastify({ logger: false }) : Fastify({ logger: false, https: { cert: tls.cert, key: tls.key } })) as unknown as FastifyInstance
}

/** Refuses a request without the right bearer token (compared in constant time). */
export function bearerAuth (token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = createHash('sha256').update(token).digest()
  return async (request, reply) => {
    const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? ''
    if (!timingSafeEqual(createHash('sha256').update(presented).digest(), expected)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'a bearer token is required' })
    }
  }
}
