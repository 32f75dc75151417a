export interface EdgeStatus {
  mesh: string
  peerId: string
  version: number | null
  configSha256: string | null
  issuedAt: string | null
  /** When this process accepted the config from the mesh; null when it was restored from disk. */
  receivedAt: string | null
  keyId: string | null
  /** False when the served config's key was dropped from the trust list since (it is still served). */
  keyTrusted: boolean | null
  trustedKeyIds: string[]
  /** Seconds since the last verified news from a publisher (a beacon or a config); null before any. */
  lastNewsAgeSeconds: number | null
  /** No news for longer than --stale-after. Reported only: the config is served regardless. */
  stale: boolean
  /** Paths of sealed values left out of what Traefik gets: no --secrets-key, or not the mesh's. */
  sealedUnopened: string[]
  peers: string[]
  listen: string[]
  /** Where clients reach this edge's Traefik (`--public-address`); null when not given. */
  publicAddress: string | null
}
