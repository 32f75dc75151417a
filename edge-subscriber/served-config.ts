import { canonicalBytes } from '../node/canonical-json.js'
import { sha256Hex, type Envelope, type EnvelopeHead } from '../node/envelope.js'
import { SEALED_PREFIX, unsealConfig, type SecretsPrivateKey } from '../node/sealed-secret.js'

/** What /config answers: the signed bytes, or, when they hold sealed secrets, the config with them opened. */
export interface ServedConfig {
  readonly head: EnvelopeHead
  readonly body: Uint8Array
  readonly etag: string
  /** Sealed values that did not open (no --secrets-key, or another key): left out of the body. */
  readonly unopened: string[]
}

const sealedMarker = Buffer.from(SEALED_PREFIX)

/**
 * Most configs hold no secrets and are served as signed, byte for byte. One
 * that does is opened in memory only: the envelope on disk and in the mesh
 * stays sealed. The same envelope always gives the same bytes.
 */
export function plainServedConfig (envelope: Envelope): ServedConfig | undefined {
  if (Buffer.from(envelope.body.buffer, envelope.body.byteOffset, envelope.body.byteLength).includes(sealedMarker)) return undefined
  return { head: envelope.head, body: envelope.body, etag: `"${envelope.head.bodySha256}"`, unopened: [] }
}

export async function unsealedServedConfig (envelope: Envelope, key: SecretsPrivateKey | undefined): Promise<ServedConfig> {
  const { config, unopened } = await unsealConfig(JSON.parse(new TextDecoder().decode(envelope.body)), key, envelope.head.mesh)
  const body = canonicalBytes(config)
  return { head: envelope.head, body, etag: `"${sha256Hex(body)}"`, unopened }
}
