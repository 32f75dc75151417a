import { isIP } from 'node:net'

/** A DNS host name (letters, digits, hyphens; labels of 63, 253 in all). */
export const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

/** Where clients reach an edge: an IP address or a DNS name. */
export function isPublicAddress (value: string): boolean {
  return isIP(value) !== 0 || HOST_NAME.test(value)
}
