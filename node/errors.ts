/** What gossipsub is told of a message: accept and forward, ignore quietly, or reject and penalise. */
export type Verdict = 'accept' | 'ignore' | 'reject'

/** Every way an envelope, head or beacon can be refused, as counted in metrics. */
export type RefusalOutcome = 'same-version' | 'older-version' | 'too-large' | 'invalid' | 'untrusted-key' | 'wrong-mesh' | 'bad-signature'

/**
 * Something offered that is not taken: each subclass says how it is counted
 * (`outcome`) and what gossipsub is told (`verdict`), so callers decide by
 * class, never by name or message.
 */
export abstract class RefusalError extends Error {
  abstract readonly outcome: RefusalOutcome
  abstract readonly verdict: Verdict
}

/** Bytes that are not an envelope at all: bad framing, bad head, wrong sizes. */
export class InvalidEnvelopeError extends RefusalError {
  override readonly name: string = 'InvalidEnvelopeError'
  readonly outcome: RefusalOutcome = 'invalid'
  readonly verdict: Verdict = 'reject'
}

/** The envelope names a key this node was not told to trust. */
export class UntrustedKeyError extends RefusalError {
  override readonly name: string = 'UntrustedKeyError'
  readonly outcome: RefusalOutcome = 'untrusted-key'
  readonly verdict: Verdict = 'reject'
}

/** The envelope was signed for another mesh. */
export class WrongMeshError extends RefusalError {
  override readonly name: string = 'WrongMeshError'
  readonly outcome: RefusalOutcome = 'wrong-mesh'
  readonly verdict: Verdict = 'reject'
}

/** The signature, or the body's hash, does not match. */
export class BadSignatureError extends RefusalError {
  override readonly name: string = 'BadSignatureError'
  readonly outcome: RefusalOutcome = 'bad-signature'
  readonly verdict: Verdict = 'reject'
}

/** The envelope is older than one already accepted. */
export class RollbackError extends RefusalError {
  override readonly name: string = 'RollbackError'
  readonly outcome: RefusalOutcome = 'older-version'
  readonly verdict: Verdict = 'ignore'
}

/** The envelope has the version already accepted: nothing new, not an attack. */
export class SameVersionError extends RollbackError {
  override readonly name: string = 'SameVersionError'
  override readonly outcome: RefusalOutcome = 'same-version'
}

/** The config is larger than this node accepts (`--max-config-mib`): not the sender's fault. */
export class TooLargeError extends RefusalError {
  override readonly name: string = 'TooLargeError'
  readonly outcome: RefusalOutcome = 'too-large'
  readonly verdict: Verdict = 'ignore'
}

/** A key or swarm-key file that cannot be used. */
export class InvalidKeyFileError extends Error {
  override readonly name: string = 'InvalidKeyFileError'
}

/** The mesh node could not listen on an address it was given (a port another process holds, an address this host lacks). */
export class MeshListenError extends Error {
  override readonly name: string = 'MeshListenError'
}
