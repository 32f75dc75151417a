/** A metric's value in Prometheus text, summed over the series whose labels include `labels` (0 when absent). */
export function metricValue (text: string, name: string, labels: Record<string, string> = {}): number {
  return text.split('\n')
    .filter(line => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter(line => Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)
}

/** Fetches `/metrics` under `baseUrl` and reads one metric from it (within 30 s: a busy machine answers late, not never). */
export async function scrapeMetric (baseUrl: string, name: string, labels: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`, { headers, signal: AbortSignal.timeout(30_000) })
  return metricValue(await response.text(), name, labels)
}
