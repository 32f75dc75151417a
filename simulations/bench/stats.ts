export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))] ?? NaN
}

export function round (value: number, digits = 0): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

export function sum (values: number[]): number {
  return values.reduce((total, value) => total + value, 0)
}

export function mean (values: number[]): number {
  return sum(values) / values.length
}
