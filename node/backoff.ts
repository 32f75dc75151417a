/** The wait after `failures` failures in a row (1 or more): doubling from `minMs`, capped at `maxMs`. */
export function backoffDelay (failures: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(Math.max(failures - 1, 0), 30))
}
