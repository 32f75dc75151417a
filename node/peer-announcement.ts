import { canonicalBytes } from './canonical-json.js'
import { isLabels, isLabelValue, type Labels } from './edge-labels.js'
import { isPublicAddress } from './host-names.js'
import { isIsoTime, isObject, parseMeshJson } from './signed-frame.js'

/** What an edge tells the mesh about itself on the status topic. */
export interface PeerAnnouncement {
  readonly peerId: string
  readonly version: number | null
  readonly bodySha256: string | null
  /** When this edge accepted the version it serves, by its clock. */
  readonly receivedAt: string | null
  readonly stale: boolean
  /** Where other edges can dial it. */
  readonly addresses: string[]
  /** How many mesh peers it is connected to. */
  readonly peers?: number
  /** Where clients reach its Traefik (`--public-address`), for the Ingress and Gateway status DNS follows. */
  readonly publicAddress?: string
  /**
   * What operators call it (`--name`) and its labels (`--label`), for rollout
   * waves and the fleet view. Optional, and absent when not given: a
   * publisher of an earlier release ignores fields it does not know.
   */
  readonly name?: string
  readonly labels?: Labels
  /** The version its proxy last fetched, and when (by the edge's clock): the proxy took what the edge serves. */
  readonly fetched?: { readonly version: number, readonly at: string }
  /**
   * It takes versions in rollout by wave (this release on). An edge that does
   * not say so knows nothing of waves: it gets a version when its rollout
   * completes, as the last wave.
   */
  readonly rollouts?: true
  /** What it found of the backends the version in rollout it serves changed (edge-subscriber/backend-probes.ts). */
  readonly health?: AnnouncedHealth
  readonly announcedAt: string
}

/** An edge's health report for a version in rollout: the services that failed, by name, at most MAX_NAMED_SERVICES of each. */
export interface AnnouncedHealth {
  readonly version: number
  readonly healthy: boolean
  readonly failing: string[]
  readonly alreadyDown: string[]
  /** Changed services answering 5xx more than before, by the proxy's metrics, each with its shares. */
  readonly errors?: string[]
}

export const MAX_NAMED_SERVICES = 8
const MAX_SERVICE_NAME = 240

export class InvalidAnnouncementError extends Error {
  override readonly name: string = 'InvalidAnnouncementError'
}

export const MAX_ANNOUNCEMENT_BYTES = 4096
const MAX_ADDRESSES = 16
const MAX_ADDRESS_LENGTH = 256

export function encodeAnnouncement (announcement: PeerAnnouncement): Uint8Array {
  return canonicalBytes(announcement)
}

/**
 * Decodes an announcement; `from` is the peer gossipsub authenticated as its
 * author (messages are signed by peer keys), which must be the peer it describes.
 */
export function decodeAnnouncement (bytes: Uint8Array, from: string | undefined): PeerAnnouncement {
  if (bytes.byteLength > MAX_ANNOUNCEMENT_BYTES) throw new InvalidAnnouncementError(`announcement of ${bytes.byteLength} bytes is too large`)
  const value = parseMeshJson(bytes, () => new InvalidAnnouncementError('announcement is not JSON'))
  if (!isAnnouncement(value)) throw new InvalidAnnouncementError('announcement lacks a field or has a field of the wrong type')
  if (value.peerId !== from) throw new InvalidAnnouncementError(`announcement about ${value.peerId} sent by ${from ?? 'an unsigned sender'}`)
  return value
}

function isAnnouncement (value: unknown): value is PeerAnnouncement {
  return isObject(value) &&
    typeof value.peerId === 'string' &&
    (value.version === null || (Number.isSafeInteger(value.version) && (value.version as number) >= 1)) &&
    (value.bodySha256 === null || (typeof value.bodySha256 === 'string' && /^[0-9a-f]{64}$/.test(value.bodySha256))) &&
    (value.receivedAt === null || isIsoTime(value.receivedAt)) &&
    typeof value.stale === 'boolean' &&
    Array.isArray(value.addresses) && value.addresses.length <= MAX_ADDRESSES &&
    value.addresses.every(address => typeof address === 'string' && address.length <= MAX_ADDRESS_LENGTH) &&
    (value.peers === undefined || (Number.isSafeInteger(value.peers) && (value.peers as number) >= 0)) &&
    (value.publicAddress === undefined || (typeof value.publicAddress === 'string' && isPublicAddress(value.publicAddress))) &&
    (value.name === undefined || (typeof value.name === 'string' && value.name !== '' && isLabelValue(value.name))) &&
    (value.labels === undefined || isLabels(value.labels)) &&
    (value.fetched === undefined || (isObject(value.fetched) && Number.isSafeInteger(value.fetched.version) && (value.fetched.version as number) >= 1 && isIsoTime(value.fetched.at))) &&
    (value.rollouts === undefined || value.rollouts === true) &&
    (value.health === undefined || isHealth(value.health)) &&
    isIsoTime(value.announcedAt)
}

function isHealth (value: unknown): value is AnnouncedHealth {
  const names = (list: unknown): boolean => Array.isArray(list) && list.length <= MAX_NAMED_SERVICES &&
    list.every(name => typeof name === 'string' && name.length <= MAX_SERVICE_NAME)
  return isObject(value) && Number.isSafeInteger(value.version) && (value.version as number) >= 1 &&
    typeof value.healthy === 'boolean' && names(value.failing) && names(value.alreadyDown) &&
    (value.errors === undefined || names(value.errors))
}
