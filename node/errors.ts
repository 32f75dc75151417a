/** Bytes that are not an envelope at all: bad framing, bad head, wrong sizes. */
export class InvalidEnvelopeError extends Error {
  override readonly name: string = 'InvalidEnvelopeError'
}

/** The envelope names a key this node was not told to trust. */
export class UntrustedKeyError extends Error {
  override readonly name: string = 'UntrustedKeyError'
}

/** The envelope was signed for another mesh. */
export class WrongMeshError extends Error {
  override readonly name: string = 'WrongMeshError'
}

/** The signature, or the body's hash, does not match. */
export class BadSignatureError extends Error {
  override readonly name: string = 'BadSignatureError'
}

/** The envelope is older than one already accepted. */
export class RollbackError extends Error {
  override readonly name: string = 'RollbackError'
}

/** The envelope has the version already accepted: nothing new, not an attack. */
export class SameVersionError extends RollbackError {
  override readonly name: string = 'SameVersionError'
}

/** The config is larger than this node accepts (`--max-config-mib`): not the sender's fault. */
export class TooLargeError extends Error {
  override readonly name: string = 'TooLargeError'
}

/** A key or swarm-key file that cannot be used. */
export class InvalidKeyFileError extends Error {
  override readonly name: string = 'InvalidKeyFileError'
}

/** The mesh node could not listen on an address it was given (a port another process holds, an address this host lacks). */
export class MeshListenError extends Error {
  override readonly name: string = 'MeshListenError'
}
