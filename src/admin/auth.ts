import { getCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../env'
import { RouterError } from '../errors'
import { secretsEqual } from '../lib/crypto'

/** Cookie the dashboard's login form sets; holds the admin token itself (HttpOnly, SameSite=Strict). */
export const ADMIN_COOKIE = 'router_admin'

/** The admin token a request presents: `Authorization: Bearer …`, or the dashboard cookie. */
export function presentedAdminToken(
  authorization: string | undefined,
  cookie: string | undefined,
): string | undefined {
  const match = authorization?.match(/^Bearer\s+(.+)$/i)
  return match?.[1]?.trim() ?? cookie
}

/** True when the router has an ADMIN_TOKEN and the request presents it. */
export function isAdmin(expected: string | undefined, presented: string | undefined): boolean {
  if (!expected || !presented) return false
  return secretsEqual(presented, expected)
}

/** Guards the admin API: closed (503) without an ADMIN_TOKEN secret, 401 without the right token. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.env.ADMIN_TOKEN) {
    throw new RouterError(
      503,
      'admin_closed',
      'the admin API is closed: set the ADMIN_TOKEN secret to open it',
    )
  }
  const presented = presentedAdminToken(c.req.header('authorization'), getCookie(c, ADMIN_COOKIE))
  if (!isAdmin(c.env.ADMIN_TOKEN, presented)) {
    throw new RouterError(
      401,
      'unauthorized',
      'a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)',
      undefined,
      {
        'WWW-Authenticate': 'Bearer',
      },
    )
  }
  await next()
})
