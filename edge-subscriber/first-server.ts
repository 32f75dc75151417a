import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { ServerTls } from '../node/http/doors.js'
import { TOKEN_CHALLENGE, TOKEN_REQUIRED, tokenMatcher } from '../node/http/token.js'
import { configAnswer, fetchOf, type ConfigFetch } from './config-answer.js'
import type { ServedConfig } from './served-config.js'

export interface FirstServerOptions {
  host: string
  port: number
  current: () => ServedConfig | undefined
  /** Told of each fetch that gave the proxy the config served. */
  fetched: (fetch: ConfigFetch) => void
  token?: string | undefined
  tls?: ServerTls | undefined
}

/**
 * The edge's HTTP server from its first moment: it answers `/config` with
 * nothing but Node's own http loaded, so Traefik gets the persisted config
 * before fastify, its plugins and schemas are read; fastify takes its
 * requests over once ready (createHttpServer). Anything else meanwhile: 503.
 */
export async function listenFirst (options: FirstServerOptions): Promise<{ server: Server, url: string }> {
  const server = options.tls === undefined
    ? (await import('node:http')).createServer(firstHandler(options))
    : (await import('node:https')).createServer({ cert: options.tls.cert, key: options.tls.key }, firstHandler(options))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new TypeError('the server listens on no TCP port')
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return { server, url: `${options.tls === undefined ? 'http' : 'https'}://${host}:${address.port}` }
}

function firstHandler (options: FirstServerOptions): RequestListener {
  const authorized = options.token === undefined ? () => true : tokenMatcher(options.token)
  return (request: IncomingMessage, response: ServerResponse) => {
    if ((request.url ?? '').split('?')[0] !== '/config' || request.method !== 'GET') {
      response.writeHead(503, { 'retry-after': '1', 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: 'starting' }))
    } else if (!authorized(request.headers.authorization)) {
      response.writeHead(401, { 'www-authenticate': TOKEN_CHALLENGE, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: TOKEN_REQUIRED }))
    } else {
      const served = options.current()
      const answer = configAnswer(served, request.headers['if-none-match'])
      response.writeHead(answer.statusCode, answer.headers).end(answer.body)
      const fetch = fetchOf(answer, served, new Date(), request.socket.remoteAddress, request.headers['user-agent'])
      if (fetch !== undefined) options.fetched(fetch)
    }
  }
}
