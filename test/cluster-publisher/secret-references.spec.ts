import test from 'ava'
import { resolveSecretReferences } from '../../cluster-publisher/secret-references.js'

const secrets: Record<string, Record<string, string>> = {
  'shop-tls': { 'tls.crt': 'CERT PEM', 'tls.key': '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n' },
  users: { users: 'alice:hashA\n\nbob:hashB\n' }
}
const lookup = (name: string): Record<string, string> | undefined => secrets[name]
const seal = async (plaintext: string): Promise<string> => `sealed(${plaintext})`

test('certificates go in clear, anything else sealed; in a list, private lines become one sealed entry each', async t => {
  const resolved = await resolveSecretReferences({
    tls: { certificates: [{ certFile: 'secret:shop-tls/tls.crt', keyFile: 'secret:shop-tls/tls.key' }] },
    http: { middlewares: { auth: { basicAuth: { users: ['secret:users/users', 'carol:hashC'] } } } }
  }, lookup, seal)
  t.deepEqual(resolved, {
    content: {
      tls: { certificates: [{ certFile: 'CERT PEM', keyFile: `sealed(${secrets['shop-tls']?.['tls.key'] ?? ''})` }] },
      http: { middlewares: { auth: { basicAuth: { users: ['sealed(alice:hashA)', 'sealed(bob:hashB)', 'carol:hashC'] } } } }
    }
  })
})

test('a private value of several lines outside a list is sealed whole, as one value', async t => {
  const resolved = await resolveSecretReferences({ http: { middlewares: { auth: { basicAuth: { usersFile: 'secret:users/users' } } } } }, lookup, seal)
  t.deepEqual(resolved, { content: { http: { middlewares: { auth: { basicAuth: { usersFile: `sealed(${secrets.users?.users ?? ''})` } } } } } })
})

test('a missing Secret, a missing key, or a private value with nothing to seal it to, fails naming the reference', async t => {
  const content = (reference: string): { tls: { certificates: Array<{ certFile: string }> } } => ({ tls: { certificates: [{ certFile: reference }] } })
  t.deepEqual(await resolveSecretReferences(content('secret:nope/tls.crt'), lookup, seal), { error: 'secret:nope/tls.crt: no Secret "nope" in this namespace' })
  t.deepEqual(await resolveSecretReferences(content('secret:shop-tls/ca.crt'), lookup, seal), { error: 'secret:shop-tls/ca.crt: Secret "shop-tls" has no key "ca.crt"' })
  t.regex((await resolveSecretReferences(content('secret:shop-tls/tls.key'), lookup, undefined) as { error: string }).error, /start the publisher with --secrets-pub/)
  const plain = content('not-a-reference')
  t.is((await resolveSecretReferences(plain, lookup, undefined) as { content: unknown }).content, plain, 'a fragment without references comes back as it is')
})
