import { createHash, timingSafeEqual } from 'node:crypto'

/** What a refused request is told: both ways to give the token. */
export const TOKEN_CHALLENGE = ['Bearer', 'Basic realm="dime", charset="UTF-8"']
export const TOKEN_REQUIRED = 'a token is required: Authorization: Bearer <token>, or the token as the Basic password'

/**
 * Whether an Authorization header carries the token, as a bearer token (the
 * CLI, Traefik, Prometheus) or as the password of HTTP Basic authentication
 * with any user name (a browser, which asks for it when challenged), compared
 * in constant time.
 */
export function tokenMatcher (token: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest()
  return authorization => timingSafeEqual(createHash('sha256').update(presentedToken(authorization ?? '')).digest(), expected)
}

function presentedToken (authorization: string): string {
  const bearer = /^Bearer (.+)$/.exec(authorization)?.[1]
  if (bearer !== undefined) return bearer
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization)?.[1]
  if (basic === undefined) return ''
  const credentials = Buffer.from(basic, 'base64').toString('utf8')
  const colon = credentials.indexOf(':')
  return colon === -1 ? '' : credentials.slice(colon + 1)
}
