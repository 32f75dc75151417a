import test from 'ava'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { createFragmentValidator } from '../../cluster-publisher/fragment-schema.js'
import { loadTraefikSchema } from '../../cluster-publisher/traefik-schema.js'
import type { JsonObject } from '../../cluster-publisher/json.js'

const validate = createFragmentValidator(loadTraefikSchema())

test("Traefik's own reference dynamic configuration is valid", t => {
  const reference = parse(readFileSync(new URL('../../reference/traefik-dynamic-configuration-reference.yaml', import.meta.url), 'utf8')) as JsonObject
  t.is(validate(reference), undefined)
})

test('a schema violation says what and where', t => {
  const reason = validate({ http: { routers: { whoami: { rule: 'Host(`a`)', servce: 'x' } } } })
  t.regex(reason ?? '', /http\.routers\.whoami must have required property 'service'/)
  t.regex(reason ?? '', /must NOT have additional properties "servce"/)
})

test('an unknown top-level section is refused', t => {
  t.regex(validate({ htp: {} }) ?? '', /\(top level\) must NOT have additional properties "htp"/)
})
