import { ApiException, type CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node'
import { compressBody, decompressBody } from '../../node/body-codec.js'
import type { EnvelopeStore } from '../../node/envelope-store.js'
import type { Logger } from '../../node/logger.js'

/** The key under `binaryData` that holds the newest envelope, Brotli-compressed. */
const ENVELOPE_KEY = 'envelope.br'
/** A ConfigMap holds 1 MiB in all; keep room for its metadata. */
const MAX_STORED_BYTES = 1_000_000
/** How long an inflated envelope may be: the largest config a publisher signs, and its head. */
const MAX_ENVELOPE_BYTES = 64 * 1024 * 1024 + 64 * 1024

export interface ConfigMapEnvelopeStoreInit {
  namespace: string
  name: string
  log: Logger
}

/**
 * The publisher's newest envelope in a ConfigMap of its own namespace, so a
 * restarted publisher or a new leader starts from what the last one published
 * (as Helm keeps releases in the cluster). It is read back through the same
 * verification as anything from the mesh. Writes are optimistic: a conflict
 * (another replica wrote in between) or a deletion is retried once, after
 * reading it again.
 * A config too large for a ConfigMap empties it rather than leave an older one
 * there: a restart then learns the newest config from the edges instead.
 */
export function configMapEnvelopeStore (core: CoreV1Api, init: ConfigMapEnvelopeStoreInit): EnvelopeStore {
  const where = `ConfigMap ${init.namespace}/${init.name}`
  // Of the ConfigMap as last read or written here: a publish then costs one request, not a read and a write.
  let resourceVersion: string | undefined
  const read = async (): Promise<V1ConfigMap | undefined> => {
    try {
      const current = await core.readNamespacedConfigMap({ name: init.name, namespace: init.namespace })
      resourceVersion = current.metadata?.resourceVersion
      return current
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined
      throw err
    }
  }
  const write = async (data: string | undefined): Promise<void> => {
    const exists = resourceVersion !== undefined || await read() !== undefined
    const body: V1ConfigMap = {
      metadata: {
        name: init.name,
        namespace: init.namespace,
        labels: { 'app.kubernetes.io/name': 'dime-publisher', 'app.kubernetes.io/component': 'state' },
        ...(resourceVersion !== undefined ? { resourceVersion } : {})
      },
      ...(data !== undefined ? { binaryData: { [ENVELOPE_KEY]: data } } : {})
    }
    const written = exists
      ? await core.replaceNamespacedConfigMap({ name: init.name, namespace: init.namespace, body })
      : await core.createNamespacedConfigMap({ namespace: init.namespace, body })
    resourceVersion = written.metadata?.resourceVersion
  }
  return {
    async load () {
      const data = (await read())?.binaryData?.[ENVELOPE_KEY]
      if (data === undefined) return undefined
      return await decompressBody(Buffer.from(data, 'base64'), MAX_ENVELOPE_BYTES)
    },
    async save (parts) {
      let data: string | undefined = Buffer.from(await compressBody(Buffer.concat(parts))).toString('base64')
      if (data.length > MAX_STORED_BYTES) {
        init.log.warn({ bytes: data.length, where }, 'the config is too large to keep in a ConfigMap (about 1 MB compressed); a restarted publisher will learn it from the edges')
        data = undefined
      }
      try {
        await write(data)
      } catch (err) {
        // Changed (409) or deleted (404) by someone else since it was last seen here: read it again, once.
        if (!(err instanceof ApiException && (err.code === 409 || err.code === 404))) throw new Error(`could not write ${where}: ${(err as Error).message}`)
        resourceVersion = undefined
        await write(data)
      }
    }
  }
}
