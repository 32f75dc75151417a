// parse-prometheus-text-format ships no types; proxy-errors.ts reads counters only.
declare module 'parse-prometheus-text-format' {
  interface ParsedFamily {
    name: string
    type: string
    metrics: Array<{ value?: string, labels?: Record<string, string> }>
  }
  export default function parsePrometheusTextFormat (text: string): ParsedFamily[]
}
