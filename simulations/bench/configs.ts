import { canonicalBytes } from '../../node/canonical-json.js'

/** A Traefik config with `count` routers on one service, as a fragment and as canonical bytes. */
export function configWithRouters (count: number, tag: string): { fragment: string, bytes: Uint8Array } {
  const routers = Object.fromEntries(Array.from({ length: count }, (_, i) => [`${tag}-router-${i}`, {
    rule: `Host(\`site-${i}.${tag}.example.com\`) && PathPrefix(\`/assets\`)`,
    service: 'origin',
    entryPoints: ['websecure'],
    tls: { certResolver: 'le' }
  }]))
  const config = { http: { routers, services: { origin: { loadBalancer: { servers: [{ url: 'http://192.0.2.10:80' }] } } } } }
  return { fragment: JSON.stringify(config), bytes: canonicalBytes(config) }
}

/** The same config with one router's rule changed: what a delta is for. */
export function withOneRouterChanged (count: number, tag: string, change: string): { fragment: string, bytes: Uint8Array } {
  const config = JSON.parse(configWithRouters(count, tag).fragment) as { http: { routers: Record<string, { rule: string }> } }
  const router = config.http.routers[`${tag}-router-0`]
  if (router !== undefined) router.rule = `Host(\`${change}.example.com\`)`
  return { fragment: JSON.stringify(config), bytes: canonicalBytes(config) }
}

/** How many routers make a config of about `bytes` bytes. */
export function routersForSize (bytes: number): number {
  const one = configWithRouters(1, 'x').bytes.byteLength
  const two = configWithRouters(2, 'x').bytes.byteLength
  return Math.max(1, Math.round((bytes - one) / (two - one)) + 1)
}
