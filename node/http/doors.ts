import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { RequestListener, Server } from 'node:http'
import { TOKEN_CHALLENGE, TOKEN_REQUIRED, tokenMatcher } from './token.js'

/** A certificate and key (PEM) to serve HTTPS with. */
export interface ServerTls {
  cert: Buffer
  key: Buffer
}

/**
 * A Fastify instance speaking HTTP, or HTTPS when given a certificate; or, given
 * a server already listening, one that takes over its requests once ready.
 */
export function createHttpServer (tls: ServerTls | undefined, listening?: Server): FastifyInstance {
  if (listening !== undefined) return takingOver(listening)
  // Fastify's types split on the https option; both are the same instance to the routes.
  return tls === undefined ? Fastify({ logger: false }) : Fastify({ logger: false, https: { cert: tls.cert, key: tls.key } })
}

function takingOver (listening: Server): FastifyInstance {
  let handler: RequestListener | undefined
  const app = Fastify({ logger: false, serverFactory: fastifyHandler => { handler = fastifyHandler; return listening } }) as unknown as FastifyInstance
  app.addHook('onReady', async () => {
    if (handler === undefined) throw new TypeError('fastify made no request handler')
    listening.removeAllListeners('request')
    listening.on('request', handler)
  })
  return app
}

/** Refuses a request without the right token (see tokenMatcher). */
export function tokenAuth (token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const matches = tokenMatcher(token)
  return async (request, reply) => {
    if (!matches(request.headers.authorization)) await reply.code(401).header('www-authenticate', TOKEN_CHALLENGE).send({ error: TOKEN_REQUIRED })
  }
}
