import test from 'ava'
import { createServer } from 'node:https'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, type PeerCertificate } from 'node:tls'
import { ANNOTATIONS } from '../../cluster-publisher/kubernetes/service-routes.js'
import type { Edge } from '../../edge-subscriber/create-edge.js'
import { ENVELOPE_FILE } from '../../edge-subscriber/create-edge.js'
import { generateSecretsKeyPem, parseSecretsPrivateKey, parseSecretsPublicKey } from '../../node/sealed-secret.js'
import { waitFor } from '../../simulations/wait-for.js'
import { capturedLog } from '../fixtures/captured-log.js'
import { testCa, type PemPair } from '../fixtures/certificates.js'
import { fakeKubeApi, loadBalancerService, startKubePublisher, tlsSecret } from '../fixtures/kube.js'
import { meshKeys, startEdge } from '../fixtures/mesh.js'

const TOKEN = 'traefik-only-token'
const HOST = 'shop.example.com'

interface ServedTls { tls?: { certificates?: Array<{ certFile: string, keyFile: string }> }, http?: { routers?: Record<string, unknown> } }

async function served (edge: Edge): Promise<ServedTls | undefined> {
  const response = await fetch(`${edge.serveUrl() ?? ''}/config`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return response.status === 200 ? await response.json() as ServedTls : undefined
}

/** The base64 of a PEM key, without its armour: what must never be found anywhere. */
function keyMaterial (pair: PemPair): string {
  return pair.key.split('\n').filter(line => line !== '' && !line.startsWith('-----')).join('')
}

/** Opens a TLS connection to a server holding `pair`, checking it against the CA, as a browser would. */
async function handshake (pair: PemPair, ca: string): Promise<PeerCertificate> {
  const server = createServer({ cert: pair.cert, key: pair.key }, (_request, response) => { response.end('ok') })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  try {
    return await new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername: HOST, ca }, () => {
        const peer = socket.getPeerCertificate()
        socket.end()
        if (socket.authorized) resolve(peer)
        else reject(socket.authorizationError)
      })
      socket.on('error', reject)
    })
  } finally {
    server.close()
  }
}

test('a certificate from a tls Secret reaches the edges sealed: opened only with the secrets key, it terminates TLS, renews, and its key is never in clear elsewhere', async t => {
  const keys = meshKeys()
  const secrets = generateSecretsKeyPem()
  const ca = await testCa()
  const first = await ca.issue(HOST)
  const api = await fakeKubeApi(t)
  api.apply('secrets', tlsSecret('shop-tls', first))
  api.apply('services', loadBalancerService('shop', { [ANNOTATIONS.hosts]: HOST, [ANNOTATIONS.tlsSecret]: 'shop-tls' }, ['192.0.2.10']))
  const logs = capturedLog()
  const publisher = await startKubePublisher(t, keys, api, { sealTo: parseSecretsPublicKey(secrets.publicPem, 'secrets.pub'), log: logs.log })
  const bootstrap = publisher.mesh.addresses()
  const withKey = await startEdge(t, keys, { bootstrap, token: TOKEN, secretsKey: parseSecretsPrivateKey(secrets.privatePem, 'secrets.key'), log: logs.log })
  const withoutKey = await startEdge(t, keys, { bootstrap, token: TOKEN, log: logs.log })

  const opened = await waitFor('the edge with the key serves the certificate', async () => (await served(withKey))?.tls?.certificates?.[0])
  t.is(opened.certFile, first.cert)
  t.is(opened.keyFile, first.key)
  t.is((await fetch(`${withKey.serveUrl() ?? ''}/config`)).status, 401, 'and only to a client with the token')
  const peer = await handshake({ cert: opened.certFile, key: opened.keyFile }, ca.cert)
  t.is(peer.subject.CN, HOST)

  const closed = await waitFor('the edge without the key serves the routes', async () => {
    const config = await served(withoutKey)
    return config?.http?.routers?.['traefik-shop'] !== undefined ? config : undefined
  })
  t.deepEqual(closed.tls?.certificates ?? [], [], 'but not a certificate it cannot open')
  t.deepEqual(withoutKey.status().sealedUnopened, ['$.tls.certificates[0].keyFile'])
  t.regex(logs.text(), /sealed values left out of the served config/)

  const second = await ca.issue(HOST)
  api.apply('secrets', tlsSecret('shop-tls', second))
  await waitFor('the renewed certificate reaches the edge', async () => (await served(withKey))?.tls?.certificates?.[0]?.certFile === second.cert ? true : undefined)
  t.is((await handshake(second, ca.cert)).subject.CN, HOST)

  const envelope = publisher.latest.current()
  const places: Record<string, string> = {
    'the envelope as it travels': Buffer.from(envelope?.bytes ?? new Uint8Array()).toString('latin1'),
    'the envelope on the edge\'s disk': await readFile(join(withKey.dataDir, ENVELOPE_FILE), 'latin1'),
    'the publisher\'s /status': await (await fetch(`${publisher.adminUrl() ?? ''}/status`)).text(),
    'the edge\'s /status': await (await fetch(`${withKey.serveUrl() ?? ''}/status`)).text(),
    'the logs': logs.text()
  }
  for (const [where, text] of Object.entries(places)) {
    for (const pair of [first, second]) t.false(text.includes(keyMaterial(pair)), `a private key in clear in ${where}`)
  }
  t.true(places['the envelope as it travels']?.includes(second.cert.split('\n')[1] ?? '-'), 'the certificate itself travels in clear')
})

test('HTTPS to an origin that requires mTLS, and basic-auth users, arrive usable: the served transport passes a real handshake, the users are the Secret\'s lines', async t => {
  const keys = meshKeys()
  const secrets = generateSecretsKeyPem()
  const ca = await testCa()
  const origin = await ca.issue('shop.demo.svc')
  const client = await ca.issue('edge-client')
  const users = ['alice:$2y$05$hashA', 'bob:$2y$05$hashB']
  const api = await fakeKubeApi(t)
  api.apply('secrets', { metadata: { name: 'cluster-ca', namespace: 'traefik' }, data: { 'ca.crt': Buffer.from(ca.cert).toString('base64') } })
  api.apply('secrets', tlsSecret('edge-client', client))
  api.apply('secrets', { metadata: { name: 'shop-users', namespace: 'traefik' }, data: { users: Buffer.from(`${users.join('\n')}\n`).toString('base64') } })
  api.apply('services', loadBalancerService('shop', {
    [ANNOTATIONS.hosts]: HOST,
    [ANNOTATIONS.originCaSecret]: 'cluster-ca',
    [ANNOTATIONS.originServerName]: 'shop.demo.svc',
    [ANNOTATIONS.originClientCertSecret]: 'edge-client',
    [ANNOTATIONS.basicAuthSecret]: 'shop-users'
  }, ['192.0.2.10']))
  const publisher = await startKubePublisher(t, keys, api, { sealTo: parseSecretsPublicKey(secrets.publicPem, 'secrets.pub') })
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), token: TOKEN, secretsKey: parseSecretsPrivateKey(secrets.privatePem, 'secrets.key') })

  interface Served { http: { serversTransports: Record<string, { serverName: string, rootCAs: string[], certificates: Array<{ certFile: string, keyFile: string }> }>, middlewares: Record<string, { basicAuth?: { users: string[] } }>, services: Record<string, { loadBalancer: { servers: Array<{ url: string }>, serversTransport: string } }> } }
  const config = await waitFor('the edge serves the route', async () => {
    const response = await fetch(`${edge.serveUrl() ?? ''}/config`, { headers: { authorization: `Bearer ${TOKEN}` } })
    return response.status === 200 ? await response.json() as Served : undefined
  })
  const transport = config.http.serversTransports['traefik-shop']
  t.is(config.http.services['traefik-shop']?.loadBalancer.serversTransport, 'traefik-shop')
  t.is(config.http.services['traefik-shop']?.loadBalancer.servers[0]?.url, 'https://192.0.2.10:80')
  t.deepEqual(config.http.middlewares['traefik-shop-basic-auth']?.basicAuth?.users, users)

  // The origin requires a client certificate from the cluster CA; the edge's side is exactly what it serves to Traefik.
  const server = createServer({ cert: origin.cert, key: origin.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (_request, response) => { response.end('ok') })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const authorized = await new Promise<boolean>((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1', port, servername: transport?.serverName, ca: transport?.rootCAs, cert: transport?.certificates[0]?.certFile, key: transport?.certificates[0]?.keyFile
    }, () => { socket.end(); resolve(socket.authorized) })
    socket.on('error', reject)
  })
  t.true(authorized)
})
