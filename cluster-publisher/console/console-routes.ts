import type { FastifyPluginAsync } from 'fastify'
import type { ServerResponse } from 'node:http'
import { FLEET_PAGE, FLEET_PAGE_POLICY } from './fleet-page.js'
import { StatusFeed } from './status-feed.js'

export interface ConsoleOptions {
  status: () => unknown
}

/**
 * The fleet page (`/`) and its live feed (`/events`: the status as
 * server-sent events, sent at once and again at each change), behind the
 * admin endpoint's TLS and token like the rest of it.
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleOptions> = async (app, options) => {
  const feed = new StatusFeed(options.status)
  const streams = new Set<ServerResponse>()

  app.get('/', async (_request, reply) => await reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', FLEET_PAGE_POLICY)
    .header('cache-control', 'no-store')
    .send(FLEET_PAGE))

  app.get('/events', (request, reply) => {
    reply.hijack()
    const stream = reply.raw
    stream.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' })
    streams.add(stream)
    const unsubscribe = feed.subscribe(json => stream.write(`event: status\ndata: ${json}\n\n`))
    request.raw.on('close', () => {
      unsubscribe()
      streams.delete(stream)
    })
  })

  // The streams never end by themselves: end them so the endpoint can close.
  app.addHook('preClose', async () => {
    feed.close()
    for (const stream of streams) stream.end()
  })
}
