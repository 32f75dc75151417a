/**
 * Polls `probe` until it returns something other than undefined, or fails after
 * `timeoutMs` saying what it waited for (`what` may be computed at that moment)
 * and the probe's last error, if it threw.
 */
export async function waitFor<T> (what: string | (() => string), probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${lastError !== undefined ? ` (last error: ${(lastError as Error).message})` : ''}`)
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
