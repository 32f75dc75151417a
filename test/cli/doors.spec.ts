import test, { type ExecutionContext } from 'ava'
import { readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { freePort } from '../../cli/processes.js'
import { waitFor } from '../../simulations/wait-for.js'
import { testCa, type TestCa } from '../fixtures/certificates.js'
import { dime, spawnDime } from '../fixtures/dime-process.js'
import { tempDir } from '../fixtures/temp-dir.js'

/** GET over HTTPS, trusting only `ca`: resolves with the status, or rejects on a TLS failure. */
async function httpsStatus (url: string, ca: string, token?: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { ca, servername: 'localhost', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, response => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

/** A directory with the mesh's keys and `tls.crt`/`tls.key` for localhost, issued by a CA made here. */
async function keysAndCertificate (t: ExecutionContext): Promise<{ dir: string, ca: TestCa }> {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const ca = await testCa()
  const pair = await ca.issue('localhost')
  writeFileSync(join(dir, 'tls.crt'), pair.cert)
  writeFileSync(join(dir, 'tls.key'), pair.key)
  return { dir, ca }
}

test('the publisher\'s admin endpoint beyond loopback without a token is refused at start', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const result = await dime('publisher', '--fragments', dir, '--key', join(dir, 'publisher.key'), '--swarm-key', join(dir, 'swarm.key'), '--admin', '0.0.0.0:9090')
  t.is(result.code, 2)
  t.regex(result.stderr, /--admin 0\.0\.0\.0:9090 is not a loopback address: .* give --token-file/)
})

test('--secrets-key without --token-file is refused: private keys would be served to anyone on the machine', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const result = await dime('edge', '--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir, '--secrets-key', join(dir, 'secrets.key'))
  t.is(result.code, 2)
  t.regex(result.stderr, /--secrets-key .* give --token-file too/)
})

test('a certificate without its key, or a key that is not the certificate\'s, is refused naming both files', async t => {
  const { dir, ca } = await keysAndCertificate(t)
  writeFileSync(join(dir, 'other.key'), (await ca.issue('localhost')).key)
  const keys = ['--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir]
  t.regex((await dime('edge', ...keys, '--tls-cert', join(dir, 'tls.crt'))).stderr, /--tls-cert and --tls-key go together/)
  const mismatched = await dime('edge', ...keys, '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'other.key'))
  t.is(mismatched.code, 2)
  t.regex(mismatched.stderr, /--tls-cert .*tls\.crt and --tls-key .*other\.key: not a matching PEM certificate and key/)
})

test('the publisher serves its admin endpoint over TLS; probes are open, status and metrics need the token', async t => {
  const { dir, ca } = await keysAndCertificate(t)
  writeFileSync(join(dir, 'empty.yaml'), 'http: {}\n')
  const port = await freePort()
  spawnDime(t, ['publisher', '--fragments', dir, '--key', join(dir, 'publisher.key'), '--swarm-key', join(dir, 'swarm.key'), '--listen', '/ip4/127.0.0.1/tcp/0',
    '--admin', `127.0.0.1:${port}`, '--token-file', join(dir, 'admin.token'), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')])
  const url = `https://localhost:${port}`
  await waitFor('the admin endpoint answers over TLS', async () => await httpsStatus(`${url}/healthz`, ca.cert).catch(() => undefined) === 200 ? true : undefined, 60_000, 100)
  const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim()
  t.is(await httpsStatus(`${url}/status`, ca.cert), 401)
  t.is(await httpsStatus(`${url}/metrics`, ca.cert), 401)
  t.is(await httpsStatus(`${url}/status`, ca.cert, token), 200)
  t.is(await httpsStatus(`${url}/metrics`, ca.cert, token), 200)
  await t.throwsAsync(httpsStatus(`${url}/healthz`, (await testCa()).cert), undefined, 'a client trusting another CA refuses the endpoint')
  writeFileSync(join(dir, 'ca.crt'), ca.cert)
  const status = await dime('status', '--admin', `https://localhost:${port}`, '--ca-file', join(dir, 'ca.crt'), '--token-file', join(dir, 'admin.token'), '--json')
  t.is(status.code, 0, status.stderr)
  t.is((JSON.parse(status.stdout) as { leader: boolean }).leader, true)
  const refused = await dime('status', '--admin', `https://localhost:${port}`, '--ca-file', join(dir, 'ca.crt'))
  t.regex(refused.stderr, /HTTP 401: give the endpoint's token with --token-file/)
})
