import test from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { directorySource } from '../../cluster-publisher/sources/directory-source.js'
import { openSecret, parseSecretsPrivateKey } from '../../node/sealed-secret.js'
import { DIME, dime } from '../fixtures/dime-process.js'
import { tempDir } from '../fixtures/temp-dir.js'

async function dimeWithInput (input: string, ...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    const child = execFile(process.execPath, [DIME, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr })
    })
    child.stdin?.end(input)
  })
}

test('dime seal prints a value that only the edges\' secrets key opens, for that mesh', async t => {
  const dir = await tempDir(t)
  await dime('keygen', '--out', dir)
  const secret = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n'
  const sealed = await dimeWithInput(secret, 'seal', '--secrets-pub', join(dir, 'secrets.pub'), '--mesh', 'prod')
  t.is(sealed.code, 0, sealed.stderr)
  t.regex(sealed.stdout, /^dime-sealed:v1:[A-Za-z0-9_-]+\n$/)
  const key = parseSecretsPrivateKey(readFileSync(join(dir, 'secrets.key'), 'utf8'), 'secrets.key')
  t.is(await openSecret(sealed.stdout.trim(), key, 'prod'), secret)
  const empty = await dimeWithInput('', 'seal', '--secrets-pub', join(dir, 'secrets.pub'))
  t.is(empty.code, 2)
  t.regex(empty.stderr, /nothing to seal on standard input/)
  const wrongKey = await dimeWithInput(secret, 'seal', '--secrets-pub', join(dir, 'secrets.key'))
  t.regex(wrongKey.stderr, /--secrets-pub .*secrets\.key: expected the public secrets key/)
})

test('a file fragment with a secret: reference is broken, never published with the reference in it', async t => {
  const dir = await tempDir(t)
  writeFileSync(join(dir, 'tls.yaml'), 'tls:\n  certificates:\n    - certFile: secret:shop-tls/tls.crt\n      keyFile: secret:shop-tls/tls.key\n')
  const snapshot = await directorySource({ directory: dir }).snapshot()
  t.deepEqual(snapshot.fragments, [{ source: 'tls.yaml', error: 'secret:shop-tls/tls.crt: secret references are resolved only with --kubernetes; in a file, put the value sealed with "dime seal"' }])
})
