import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../env'
import { hmacSha256Hex, secretsEqual } from '../lib/crypto'
import { RouterError } from '../lib/errors'

/** Cookie the dashboard's login form sets (HttpOnly, SameSite=Strict, Path=/admin). */
export const ADMIN_COOKIE = 'router_admin'

/** HMAC label of the session value; changing it logs every browser out. */
const SESSION_LABEL = 'dashboard-session-v1'

/** Methods a cookie may authorise from anywhere: they change nothing. */
const SAFE_METHODS = new Set(['GET', 'HEAD'])

/**
 * The session cookie's value: hex HMAC-SHA256(ADMIN_TOKEN, label). Derived, so
 * the raw token never sits in a cookie jar; rotating ADMIN_TOKEN ends every session.
 */
export function dashboardSessionValue(adminToken: string): Promise<string> {
  return hmacSha256Hex(adminToken, SESSION_LABEL)
}

/** True when the router has an ADMIN_TOKEN and `presented` is it (constant time). */
export function isAdminToken(expected: string | undefined, presented: string | undefined): boolean {
  if (!expected || !presented) return false
  return secretsEqual(presented, expected)
}

export type AdminCredential = 'bearer' | 'cookie'

/**
 * How a request proves it is the admin: `Authorization: Bearer <ADMIN_TOKEN>`, or
 * the dashboard's session cookie. A request that sends an Authorization header is
 * judged by that header alone, so a wrong token is never rescued by a cookie.
 */
export async function adminCredential(c: Context<AppEnv>): Promise<AdminCredential | undefined> {
  const expected = c.env.ADMIN_TOKEN
  if (!expected) return undefined
  const authorization = c.req.header('authorization')
  if (authorization !== undefined) {
    const bearer = authorization.match(/^Bearer\s+(.+)$/i)?.[1]?.trim()
    return isAdminToken(expected, bearer) ? 'bearer' : undefined
  }
  const cookie = getCookie(c, ADMIN_COOKIE)
  if (cookie && secretsEqual(cookie, await dashboardSessionValue(expected))) return 'cookie'
  return undefined
}

/**
 * CSRF guard for cookie-authenticated writes: the browser must say the request
 * comes from this very origin (`Origin`, or `Sec-Fetch-Site: same-origin` when a
 * browser sends no Origin). A present but different Origin always loses.
 */
export function isSameOriginRequest(c: Context<AppEnv>): boolean {
  const origin = c.req.header('origin')
  if (origin !== undefined) return origin === new URL(c.req.url).origin
  return c.req.header('sec-fetch-site') === 'same-origin'
}

/** Starts a dashboard session in this browser. */
export async function setSessionCookie(c: Context<AppEnv>, adminToken: string): Promise<void> {
  setCookie(c, ADMIN_COOKIE, await dashboardSessionValue(adminToken), {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/admin',
    // `wrangler dev` serves plain http on loopback, where a Secure cookie would be dropped.
    secure: new URL(c.req.url).protocol === 'https:',
  })
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, ADMIN_COOKIE, {
    path: '/admin',
    httpOnly: true,
    sameSite: 'Strict',
    secure: new URL(c.req.url).protocol === 'https:',
  })
}

function adminClosed(): RouterError {
  return new RouterError(
    503,
    'admin_closed',
    'the admin API is closed: set the ADMIN_TOKEN secret to open it',
  )
}

/**
 * Guards the admin API: closed (503) without an ADMIN_TOKEN secret, 401 without
 * the token or a session cookie, 403 for a cookie-authenticated write from another origin.
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.env.ADMIN_TOKEN) throw adminClosed()
  const credential = await adminCredential(c)
  if (!credential) {
    throw new RouterError(
      401,
      'unauthorized',
      'a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)',
      undefined,
      { 'WWW-Authenticate': 'Bearer' },
    )
  }
  if (credential === 'cookie' && !SAFE_METHODS.has(c.req.method) && !isSameOriginRequest(c)) {
    throw new RouterError(
      403,
      'cross_origin',
      'a cookie-authenticated request that changes something must come from the dashboard itself',
    )
  }
  await next()
})

/** For the dashboard's pages: the admin API being closed is an error page too, not a login form. */
export function assertAdminOpen(c: Context<AppEnv>): string {
  if (!c.env.ADMIN_TOKEN) throw adminClosed()
  return c.env.ADMIN_TOKEN
}
