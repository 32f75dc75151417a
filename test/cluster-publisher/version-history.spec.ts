import test from 'ava'
import { canonicalBytes } from '../../node/canonical-json.js'
import type { EnvelopeHead } from '../../node/envelope.js'
import type { JsonObject } from '../../cluster-publisher/json.js'
import { UnknownVersionError, VersionHistory } from '../../cluster-publisher/version-history.js'

function head (version: number): EnvelopeHead {
  return { mesh: 'm', version, issuedAt: new Date(Date.UTC(2026, 11, 2, 10, version)).toISOString(), keyId: 'k', bodySha256: String(version).padStart(64, '0'), bodySize: 0 }
}

function router (name: string, rule = `Host(\`${name}.example.com\`)`): JsonObject {
  return { [name]: { rule, service: name } }
}

function publish (history: VersionHistory, version: number, config: JsonObject, fragments: Record<string, JsonObject>): void {
  history.record(head(version), canonicalBytes(config), new Map(Object.entries(fragments)))
}

test('each version says which fragments changed and what changed in Traefik\'s terms; any two held versions compare', t => {
  const history = new VersionHistory()
  publish(history, 1, { http: { routers: { ...router('a'), ...router('b') }, services: { a: {}, b: {} } } }, { 'a.yaml': { x: 1 }, 'b.yaml': { y: 1 } })
  publish(history, 2, { http: { routers: { ...router('a', 'Host(`new.example.com`)'), ...router('c') }, services: { a: {}, b: {}, c: {} } } }, { 'a.yaml': { x: 2 }, 'b.yaml': { y: 1 }, 'c.yaml': { z: 1 } })
  publish(history, 3, { http: { routers: router('c'), services: { c: {} }, middlewares: { auth: { basicAuth: {} } } }, tls: { certificates: [{ certFile: 'CERT', keyFile: 'sealed' }] } }, { 'c.yaml': { z: 1 } })

  const [third, second, first] = history.list()
  t.is(first?.version, 1)
  t.deepEqual(first?.fragmentsChanged, ['a.yaml', 'b.yaml'])
  t.deepEqual(second?.fragmentsChanged, ['a.yaml', 'c.yaml'])
  t.deepEqual(second?.changes, { 'http.routers': { added: ['c'], removed: ['b'], changed: ['a'] }, 'http.services': { added: ['c'], removed: [], changed: [] } })
  t.deepEqual(third?.changes['http.middlewares'], { added: ['auth'], removed: [], changed: [] })
  t.deepEqual(third?.changes['tls.certificates'], { added: ['CERT'], removed: [], changed: [] })
  t.deepEqual(history.diff(1, 3)['http.routers'], { added: ['c'], removed: ['a', 'b'], changed: [] })
  t.deepEqual(history.diff(2, 2), {})
})

test('the history holds the newest heads, and bodies within its byte bound; what it lacks is refused with why', t => {
  const history = new VersionHistory(3, 200)
  for (let version = 1; version <= 5; version++) publish(history, version, { http: { routers: router(`r${version}`) } }, {})
  t.deepEqual(history.list().map(entry => entry.version), [5, 4, 3])
  t.deepEqual(history.list().map(entry => entry.bodyHeld), [true, true, false])
  t.is(t.throws(() => history.diff(1, 5))?.message, 'version 1 is not in the history (it holds versions 3 to 5)')
  const dropped = t.throws(() => history.diff(3, 5))
  t.true(dropped instanceof UnknownVersionError)
  t.regex(dropped?.message ?? '', /version 3's config is no longer held/)
  t.deepEqual(history.diff(4, 5)['http.routers'], { added: ['r5'], removed: ['r4'], changed: [] })
})
