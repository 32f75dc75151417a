export interface EdgeStatus {
  mesh: string
  peerId: string
  version: number | null
  configSha256: string | null
  issuedAt: string | null
  receivedAt: string | null
  keyId: string | null
  trustedKeyIds: string[]
  peers: string[]
  listen: string[]
}
