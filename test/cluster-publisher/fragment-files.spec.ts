import test from 'ava'
import { fragmentsFromFile } from '../../cluster-publisher/fragment-files.js'

test('a plain YAML file is one fragment named after the file', t => {
  const { fragments } = fragmentsFromFile({ name: 'a.yaml', text: 'http:\n  routers: {}\n' })
  t.deepEqual(fragments, [{ source: 'a.yaml', content: { http: { routers: {} } } }])
})

test('JSON in a file not named .json is read as YAML, of which it is a subset', t => {
  t.deepEqual(fragmentsFromFile({ name: 'a.yaml', text: '{"tcp":{"routers":{}}}' }).fragments,
    [{ source: 'a.yaml', content: { tcp: { routers: {} } } }])
})

test('each data value of a labelled ConfigMap is a fragment; other objects are skipped', t => {
  const text = `
apiVersion: v1
kind: ConfigMap
metadata: { name: routes, namespace: traefik, labels: { traefik-config-fragment: "true" } }
data:
  b.yaml: "http: {}"
  a.yaml: "tcp: {}"
---
apiVersion: v1
kind: ConfigMap
metadata: { name: other, namespace: traefik }
data: { x: "http: {}" }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: whoami }
`
  const result = fragmentsFromFile({ name: 'routes.yaml', text })
  t.deepEqual(result.fragments.map(fragment => fragment.source), ['routes.yaml:traefik/routes/a.yaml', 'routes.yaml:traefik/routes/b.yaml'])
  t.deepEqual(result.skipped.map(skipped => skipped.source), ['routes.yaml:traefik/other', 'routes.yaml:default/whoami'])
  t.regex(result.skipped[0]?.reason ?? '', /without label traefik-config-fragment=true/)
})

for (const [name, text, reason] of [
  ['bad YAML', 'http: [unclosed', /is not valid YAML/],
  ['an empty file', '', /is empty/],
  ['a list', '- a\n- b\n', /not a mapping/],
  ['several plain documents', 'http: {}\n---\ntcp: {}\n', /holds 2 YAML documents/],
  ['an alias bomb', `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`, /alias/i],
  ['a duplicated key', 'http: {}\nhttp: {}\n', /is not valid YAML/]
] as const) {
  test(`${name} is an unreadable fragment with a reason`, t => {
    const [fragment] = fragmentsFromFile({ name: 'f.yaml', text }).fragments
    t.true(fragment !== undefined && 'error' in fragment)
    t.regex((fragment as { error: string }).error, reason)
  })
}

test('a .json fragment is parsed as JSON, and broken JSON says so', t => {
  t.deepEqual(fragmentsFromFile({ name: 'big.json', text: '{"http":{"routers":{}}}' }).fragments, [{ source: 'big.json', content: { http: { routers: {} } } }])
  const [broken] = fragmentsFromFile({ name: 'big.json', text: '{"http": {' }).fragments
  t.regex((broken as { error: string }).error, /^is not valid JSON: /)
  const [empty] = fragmentsFromFile({ name: 'empty.json', text: 'null' }).fragments
  t.regex((empty as { error: string }).error, /is empty/)
})
