import test from 'ava'
import { generateSecretsKeyPem, isSealed, openSecret, parseSecretsPrivateKey, parseSecretsPublicKey, SealedSecretError, sealSecret, unsealConfig } from '../../node/sealed-secret.js'
import { generateSigningKeyPem } from '../../node/signing-keys.js'

const pem = generateSecretsKeyPem()
const publicKey = parseSecretsPublicKey(pem.publicPem, 'secrets.pub')
const privateKey = parseSecretsPrivateKey(pem.privatePem, 'secrets.key')
const KEY_PEM = '-----BEGIN PRIVATE KEY-----\nnot-really-a-key\n-----END PRIVATE KEY-----\n'

test('a sealed value opens with the secrets key for its mesh, and with nothing else', async t => {
  const sealed = await sealSecret(KEY_PEM, publicKey, 'm')
  t.true(isSealed(sealed))
  t.false(sealed.includes('not-really-a-key'))
  t.is(await openSecret(sealed, privateKey, 'm'), KEY_PEM)
  const other = parseSecretsPrivateKey(generateSecretsKeyPem().privatePem, 'other')
  await t.throwsAsync(openSecret(sealed, other, 'm'), { instanceOf: SealedSecretError })
  await t.throwsAsync(openSecret(sealed, privateKey, 'another-mesh'), { instanceOf: SealedSecretError })
  const altered = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  await t.throwsAsync(openSecret(altered, privateKey, 'm'), { instanceOf: SealedSecretError })
  t.not(await sealSecret(KEY_PEM, publicKey, 'm'), sealed, 'each sealing is fresh')
})

test('key files of the wrong kind are refused, naming the file', t => {
  const signing = generateSigningKeyPem()
  t.regex(t.throws(() => parseSecretsPrivateKey(signing.privatePem, 'edge.key'))?.message ?? '', /edge\.key: expected an X25519 private key/)
  t.regex(t.throws(() => parseSecretsPublicKey(pem.privatePem, 'secrets.pub'))?.message ?? '', /secrets\.pub: expected the public secrets key/)
  t.regex(t.throws(() => parseSecretsPublicKey('nonsense', 'x.pub'))?.message ?? '', /x\.pub: not a PEM public key/)
})

test('unsealing opens every value; without the key each certificate or user is left out whole, and the rest stays', async t => {
  const sealedKey = await sealSecret(KEY_PEM, publicKey, 'm')
  const sealedUser = await sealSecret('admin:$apr1$hash', publicKey, 'm')
  const config = {
    http: {
      routers: { shop: { rule: 'Host(`shop.example`)', service: 'shop', tls: {} } },
      middlewares: { auth: { basicAuth: { users: [sealedUser] } } }
    },
    tls: {
      certificates: [{ certFile: 'CERT', keyFile: sealedKey }, { certFile: 'PLAIN-CERT', keyFile: 'PLAIN-KEY' }],
      stores: { default: { defaultCertificate: { certFile: 'CERT', keyFile: sealedKey } } }
    }
  }
  const opened = await unsealConfig(config, privateKey, 'm')
  t.is(opened.opened, 3)
  t.deepEqual(opened.unopened, [])
  t.is(JSON.stringify(opened.config).includes('dime-sealed'), false)
  t.deepEqual((opened.config as typeof config).tls.certificates[0], { certFile: 'CERT', keyFile: KEY_PEM })

  const closed = await unsealConfig(config, undefined, 'm')
  const served = closed.config as typeof config
  t.deepEqual(closed.unopened, ['$.http.middlewares.auth.basicAuth.users[0]', '$.tls.certificates[0].keyFile', '$.tls.stores.default.defaultCertificate.keyFile'])
  t.deepEqual(served.tls.certificates, [{ certFile: 'PLAIN-CERT', keyFile: 'PLAIN-KEY' }])
  t.deepEqual(served.http.middlewares.auth.basicAuth.users, [])
  t.deepEqual(served.tls.stores.default.defaultCertificate, { certFile: 'CERT' })
  t.deepEqual(served.http.routers, config.http.routers)
})
