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

/**
 * Refuses a request without the right token, given as a bearer token (the CLI,
 * Traefik, Prometheus) or as the password of HTTP Basic authentication with any
 * user name (a browser, which asks for it when challenged), compared in constant time.
 */
export function tokenAuth (token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = createHash('sha256').update(token).digest()
  return async (request, reply) => {
    const presented = presentedToken(request.headers.authorization ?? '')
    if (!timingSafeEqual(createHash('sha256').update(presented).digest(), expected)) {
      await reply.code(401).header('www-authenticate', ['Bearer', 'Basic realm="dime", charset="UTF-8"']).send({ error: 'a token is required: Authorization: Bearer <token>, or the token as the Basic password' })
    }
  }
}

function presentedToken (authorization: string): string {
  const bearer = /^Bearer (.+)$/.exec(authorization)?.[1]
  if (bearer !== undefined) return bearer
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization)?.[1]
  if (basic === undefined) return ''
  const credentials = Buffer.from(basic, 'base64').toString('utf8')
  const colon = credentials.indexOf(':')
  return colon === -1 ? '' : credentials.slice(colon + 1)
}
