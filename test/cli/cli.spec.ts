import test from 'ava'
import { createServer, type AddressInfo } from 'node:net'
import { dimeNodeInvocation, spawnNodeAsDime } from '../../cli/processes.js'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dime, type DimeResult } from '../fixtures/dime-process.js'
import { parse } from 'yaml'
import { tempDir } from '../fixtures/temp-dir.js'

for (const command of ['publisher', 'edge', 'keygen', 'seal', 'demo', 'status', 'inspect', 'rollout']) {
  test(`dime ${command} --help is readable`, async t => {
    const result = await dime(command, '--help')
    t.is(result.code, 0)
    t.regex(result.stdout, new RegExp(`^Usage: dime ${command}`))
  })
}

test('dime --version says the release and the mesh protocol, whatever follows it', async t => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  for (const args of [['--version'], ['-V'], ['--version', 'edge', '--trusst']]) {
    const result = await dime(...args)
    t.is(result.code, 0, args.join(' '))
    t.is(result.stdout, `dime ${version}, mesh protocol 2 (shares a mesh with protocol 1 and later)\n`)
  }
})

test('a wrong flag exits non-zero and says which', async t => {
  const result = await dime('edge', '--swarm-key', 'x', '--data-dir', 'y', '--trusst', 'k')
  t.is(result.code, 2)
  t.regex(result.stderr, /unknown option '--trusst'/)
})

test('a missing file exits non-zero and names the flag and the path', async t => {
  const dir = await tempDir(t)
  const result = await dime('edge', '--trust', join(dir, 'nope.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir)
  t.is(result.code, 2)
  t.regex(result.stderr, /--trust .*nope\.pub: cannot read \(no such file\)/)
})

test('a file of the wrong kind is refused with its name', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const result = await dime('publisher', '--fragments', dir, '--key', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'))
  t.is(result.code, 2)
  t.regex(result.stderr, /--key .*publisher\.pub: not a PEM private key/)
  const swarm = await dime('edge', '--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'publisher.pub'), '--data-dir', dir)
  t.regex(swarm.stderr, /--swarm-key .*publisher\.pub: not a swarm key/)
})

test('a malformed bootstrap address is refused before anything starts', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const result = await dime('edge', '--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir, '--bootstrap', '/ip4/10.0.0.1/udp/4001')
  t.is(result.code, 2)
  t.regex(result.stderr, /--bootstrap "\/ip4\/10\.0\.0\.1\/udp\/4001": expected \/ip4\/HOST\/tcp\/PORT/)
})

test('a public address that is neither an IP address nor a DNS name is refused, naming the flag', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const result = await dime('edge', '--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir, '--public-address', 'https://edge.example.net')
  t.is(result.code, 2)
  t.regex(result.stderr, /--public-address "https:\/\/edge\.example\.net": expected an IP address or a DNS name/)
})

test('a connection cap that is not a whole number of at least 1 is refused, naming the flag', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  for (const bad of ['0', '2.5', 'many']) {
    const result = await dime('publisher', '--fragments', dir, '--key', join(dir, 'publisher.key'), '--swarm-key', join(dir, 'swarm.key'), '--max-connections', bad)
    t.is(result.code, 2, bad)
    t.true(result.stderr.includes(`--max-connections must be a whole number of at least 1, got "${bad}"`), result.stderr)
  }
})

test('a config limit that is not a positive number of MiB is refused, naming the flag', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const result = await dime('edge', '--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir, '--max-config-mib', 'lots')
  t.is(result.code, 2)
  t.regex(result.stderr, /--max-config-mib must be a positive number of MiB, got "lots"/)
})

test('keygen writes the keys with safe modes, prints the key id and refuses to overwrite', async t => {
  const dir = join(await tempDir(t), 'keys')
  const first = await dime('keygen', '--out', dir)
  t.is(first.code, 0)
  t.regex(first.stdout, /publisher key id: [0-9a-f]{32}/)
  t.is(statSync(join(dir, 'publisher.key')).mode & 0o777, 0o600)
  t.is(statSync(join(dir, 'swarm.key')).mode & 0o777, 0o600)
  t.regex(readFileSync(join(dir, 'publisher.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
  t.regex(readFileSync(join(dir, 'publisher.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/)
  t.regex(readFileSync(join(dir, 'swarm.key'), 'utf8'), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
  for (const secret of ['secrets.key', 'admin.token']) t.is(statSync(join(dir, secret)).mode & 0o777, 0o600, secret)
  t.regex(readFileSync(join(dir, 'secrets.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/)

  const key = readFileSync(join(dir, 'publisher.key'))
  const again = await dime('keygen', '--out', dir)
  t.is(again.code, 2)
  t.regex(again.stderr, /refusing to overwrite .*publisher\.key.*--force/)
  t.deepEqual(readFileSync(join(dir, 'publisher.key')), key)

  const forced = await dime('keygen', '--out', dir, '--force')
  t.is(forced.code, 0)
  t.notDeepEqual(readFileSync(join(dir, 'publisher.key')), key)
})

test('inspect shows a head and verifies it against a trusted key', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const garbage = join(dir, 'garbage.bin')
  writeFileSync(garbage, 'not an envelope')
  const result = await dime('inspect', garbage, '--trust', join(dir, 'publisher.pub'))
  t.is(result.code, 2)
  t.regex(result.stderr, /InvalidEnvelopeError: not an envelope/)
})

test('the publisher needs exactly one source of fragments', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const keys = ['--key', join(dir, 'publisher.key'), '--swarm-key', join(dir, 'swarm.key')]
  const neither = await dime('publisher', ...keys)
  t.is(neither.code, 2)
  t.regex(neither.stderr, /one of --fragments DIR or --kubernetes is required/)
  const both = await dime('publisher', ...keys, '--fragments', dir, '--kubernetes')
  t.is(both.code, 2)
  t.regex(both.stderr, /option '--fragments <dir>' cannot be used with option '--kubernetes'/)
  const badConfig = await dime('publisher', ...keys, '--kubernetes', '--kubeconfig', join(dir, 'missing-kubeconfig'))
  t.is(badConfig.code, 2)
  t.regex(badConfig.stderr, /cannot load Kubernetes configuration from .*missing-kubeconfig/)
})

test('keygen --kubernetes-secret prints a Secret manifest with the publisher\'s keys (never the edges\' secrets key), ready for kubectl apply', async t => {
  const result = await dime('keygen', '--kubernetes-secret', 'dime-publisher-keys', '--namespace', 'traefik')
  t.is(result.code, 0)
  const secret = parse(result.stdout) as { kind: string, metadata: { name: string, namespace: string }, stringData: Record<string, string> }
  t.is(secret.kind, 'Secret')
  t.deepEqual(secret.metadata.name, 'dime-publisher-keys')
  t.deepEqual(Object.keys(secret.stringData).sort(), ['admin.token', 'publisher.key', 'publisher.pub', 'secrets.pub', 'swarm.key'])
  t.regex(result.stderr, /publisher key id: [0-9a-f]{32}/)
})

test('an empty token file is refused with its name', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  writeFileSync(join(dir, 'token'), '\n')
  const result = await dime('edge', '--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir, '--token-file', join(dir, 'token'))
  t.is(result.code, 2)
  t.regex(result.stderr, /--token-file .*token: expected one token with no spaces/)
})

test('serving /config beyond loopback without a token is refused', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const result = await dime('edge', '--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir, '--serve', '0.0.0.0:8088')
  t.is(result.code, 2)
  t.regex(result.stderr, /--serve 0\.0\.0\.0:8088 is not a loopback address: .* give --token-file/)
})

test('a publisher without election whose mesh port is taken exits non-zero with the cause', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const holder = createServer()
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { holder.close() })
  const port = (holder.address() as AddressInfo).port
  const result = await dime('publisher', '--fragments', dir, '--key', join(dir, 'publisher.key'), '--swarm-key', join(dir, 'swarm.key'), '--listen', `/ip4/127.0.0.1/tcp/${port}`)
  t.is(result.code, 1)
  t.regex(result.stderr, new RegExp(`dime: error: could not become the publisher: cannot listen on /ip4/127\\.0\\.0\\.1/tcp/${port}: listen EADDRINUSE`))
})

test('programs that start dime run node as bin/dime.js\'s first line does, read from that line', async t => {
  const { flags, env } = dimeNodeInvocation()
  t.true(flags.includes('--heap-growing-percent=50'))
  t.is(env.MALLOC_ARENA_MAX, '2')
  const script = 'process.stdout.write(JSON.stringify([process.execArgv, process.env.MALLOC_ARENA_MAX]))'
  const child = spawnNodeAsDime(['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout?.on('data', chunk => { output += String(chunk) })
  // 'close', not 'exit': its output may still be in the pipe when it exits.
  await new Promise(resolve => child.once('close', resolve))
  t.deepEqual(JSON.parse(output), [[...flags, '-e', script], '2'])
  t.throws(() => dimeNodeInvocation('#!/bin/sh'), { instanceOf: TypeError })
})

test('a label that is not KEY=VALUE, a key given twice and a bad name are refused, naming the flag', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const edge = async (...args: string[]): Promise<DimeResult> => await dime('edge', '--trust', join(dir, 'publisher.pub'), '--swarm-key', join(dir, 'swarm.key'), '--data-dir', dir, ...args)
  const noEquals = await edge('--label', 'canary')
  t.is(noEquals.code, 2)
  t.regex(noEquals.stderr, /--label "canary": expected KEY=VALUE/)
  t.regex((await edge('--label', 'tier=canary', '--label', 'tier=main')).stderr, /--label "tier=main": the key "tier" is given twice/)
  t.regex((await edge('--label', 'tier=not canary')).stderr, /--label "tier=not canary": the value "not canary" is not a label value/)
  t.regex((await edge('--name', 'my edge')).stderr, /--name "my edge": expected letters, digits/)
})

test('a rollout policy that cannot be read or used stops the publisher before it starts, saying what and where', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const publisher = async (...args: string[]): Promise<DimeResult> => await dime('publisher', '--fragments', dir, '--key', join(dir, 'publisher.key'), '--swarm-key', join(dir, 'swarm.key'), ...args)
  const missing = await publisher('--rollout', join(dir, 'nope.yaml'))
  t.is(missing.code, 2)
  t.regex(missing.stderr, /--rollout .*nope\.yaml: cannot read \(no such file\)/)
  const policy = join(dir, 'rollout.yaml')
  const refusals: Array<[string, RegExp]> = [
    ['waves: []\n', /--rollout .*rollout\.yaml: "waves" must be a list of at least one wave/],
    ['waves:\n  - {name: canary, edges: {tier: canary}}\n  - {name: rest}\n', /waves\[0\] \("canary"\): "bake" is missing/],
    ['waves:\n  - {name: canary, count: 1, bake: -1s}\n  - {name: rest}\n', /bake "-1s" is not a duration/],
    ['waves:\n  - {name: canary, count: 1, bake: 1s, colour: red}\n', /unknown key "colour"/]
  ]
  for (const [text, message] of refusals) {
    writeFileSync(policy, text)
    const refused = await publisher('--rollout', policy)
    t.is(refused.code, 2, text)
    t.regex(refused.stderr, message)
  }
  const both = await dime('publisher', '--kubernetes', '--key', join(dir, 'publisher.key'), '--swarm-key', join(dir, 'swarm.key'), '--rollout', policy)
  t.regex(both.stderr, /option '--rollout <file>' cannot be used with option '--kubernetes'/)
})
