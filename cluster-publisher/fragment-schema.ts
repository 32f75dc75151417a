import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { JsonObject } from './json.js'

/** Returns why a fragment breaks the schema, or undefined when it conforms. */
export type FragmentValidator = (content: JsonObject) => string | undefined

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv
const ERRORS_SHOWN = 3

/** Compiles Traefik's dynamic-configuration JSON Schema (draft-07) into a validator. */
export function createFragmentValidator (schema: object): FragmentValidator {
  const ajv = new Ajv({ allErrors: true, strict: false })
  addFormats(ajv)
  const validate: ValidateFunction = ajv.compile(schema)
  return (content) => validate(content) ? undefined : describeErrors(validate.errors ?? [])
}

function describeErrors (errors: ErrorObject[]): string {
  const lines = errors.slice(0, ERRORS_SHOWN).map(error => {
    const at = error.instancePath === '' ? '(top level)' : error.instancePath.slice(1).replaceAll('/', '.')
    const extra = error.keyword === 'additionalProperties' ? ` "${String(error.params.additionalProperty)}"` : ''
    return `${at} ${error.message ?? 'is invalid'}${extra}`
  })
  const more = errors.length > ERRORS_SHOWN ? ` (and ${errors.length - ERRORS_SHOWN} more)` : ''
  return `does not match Traefik's schema: ${lines.join('; ')}${more}`
}
