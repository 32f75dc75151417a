/** A mistake in how `dime` was called: a bad flag value, a missing or unusable file. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError'
}
