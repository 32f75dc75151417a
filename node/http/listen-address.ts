/** Parses `HOST:PORT` (or `[v6]:PORT`) for a listening HTTP server. */
export function parseListenAddress (value: string, flag: string): { host: string, port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value)
  const port = Number(match?.[3])
  if (match === null || port > 65535) {
    throw new TypeError(`${flag} must be HOST:PORT (for example 127.0.0.1:8088), got "${value}"`)
  }
  return { host: match[1] ?? match[2] ?? '', port }
}
