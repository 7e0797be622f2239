import { env } from 'cloudflare:workers'
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/app'
import { ADMIN_TOKEN, ORIGIN, routerFetch, useSources, WEB } from '../helpers/router'
import { textOf } from './html'
import { loginCookie, submitLogin } from './session'

useSources(WEB)

/** The session value computed independently of the router's code (node:crypto, not WebCrypto). */
const EXPECTED_SESSION = createHmac('sha256', ADMIN_TOKEN).update('dashboard-session-v1').digest('hex')

/** A write that changes nothing when let through: a replay of a delivery that does not exist. */
const PROBE_REPLAY = JSON.stringify({
  deliveries: [{ source: 'web', messageId: 'csrf-probe', destination: 'CrowdPower' }],
})

function replayWithCookie(cookie: string, headers: Record<string, string> = {}): Promise<Response> {
  return routerFetch('/admin/replay', {
    method: 'POST',
    headers: { Cookie: cookie, 'Content-Type': 'application/json', ...headers },
    body: PROBE_REPLAY,
  })
}

describe('dashboard login', () => {
  it('shows the login form (200, not a 401 page) to a signed-out browser', async () => {
    const response = await routerFetch('/admin')
    expect(response.status).toBe(200)
    const html = await response.text()
    expect(await textOf(html, 'form#login-form label')).toBe('Admin token')
    expect(html).not.toContain('data-destination')
  })

  it('sets an HttpOnly, SameSite=Strict, Path=/admin cookie holding the derived session value', async () => {
    const response = await submitLogin(ADMIN_TOKEN)
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/admin')
    const cookie = response.headers.get('set-cookie') ?? ''
    expect(cookie).toContain(`router_admin=${EXPECTED_SESSION}`)
    expect(cookie).toMatch(/;\s*HttpOnly/i)
    expect(cookie).toMatch(/;\s*SameSite=Strict/i)
    expect(cookie).toMatch(/;\s*Path=\/admin(;|$)/)
    // Plain http (wrangler dev on loopback): a Secure cookie would be dropped by the browser.
    expect(cookie).not.toMatch(/;\s*Secure/i)
    expect(cookie).not.toContain(ADMIN_TOKEN)
  })

  it('marks the cookie Secure when the dashboard is served over https', async () => {
    const response = await app.request(
      'https://router.example/admin/login',
      { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN }) },
      env,
    )
    expect(response.status).toBe(303)
    expect(response.headers.get('set-cookie')).toMatch(/;\s*Secure/i)
  })

  it('answers a wrong token with the form again, an error and 401, and sets no cookie', async () => {
    const response = await submitLogin('not-the-token')
    expect(response.status).toBe(401)
    expect(response.headers.get('set-cookie')).toBeNull()
    const html = await response.text()
    expect(await textOf(html, '.error')).toBe('That is not the admin token.')
    expect(await textOf(html, 'form#login-form button')).toBe('Sign in')
  })

  it('lets the cookie through to the pages and to the JSON API', async () => {
    const cookie = await loginCookie()
    const page = await routerFetch('/admin', { headers: { Cookie: cookie } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Latest deliveries')
    const api = await routerFetch('/admin/deliveries', { headers: { Cookie: cookie } })
    expect(api.status).toBe(200)
    expect(await api.json()).toMatchObject({ deliveries: [] })
  })

  it('refuses the raw token or a forged value as the cookie', async () => {
    for (const value of [ADMIN_TOKEN, EXPECTED_SESSION.replace(/.$/, '0'), '']) {
      const response = await routerFetch('/admin/deliveries', {
        headers: { Cookie: `router_admin=${value}` },
      })
      expect(response.status, value).toBe(401)
    }
  })

  it('judges a request by its Authorization header alone: a valid cookie does not rescue a wrong Bearer', async () => {
    const cookie = await loginCookie()
    const response = await routerFetch('/admin/deliveries', {
      headers: { Cookie: cookie, Authorization: 'Bearer wrong' },
    })
    expect(response.status).toBe(401)
  })

  it('logs out by expiring the cookie on the same path, only when asked from its own origin', async () => {
    const response = await routerFetch('/admin/logout', {
      method: 'POST',
      headers: { Origin: ORIGIN },
      redirect: 'manual',
    })
    expect(response.status).toBe(303)
    const cookie = response.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^router_admin=;/)
    expect(cookie).toMatch(/Max-Age=0/i)
    expect(cookie).toMatch(/Path=\/admin/)

    const forged = await routerFetch('/admin/logout', {
      method: 'POST',
      headers: { Origin: 'https://evil.example' },
      redirect: 'manual',
    })
    expect(forged.status).toBe(403)
    expect(forged.headers.get('set-cookie')).toBeNull()
  })

  it('is an error, not a login form, when the router has no ADMIN_TOKEN', async () => {
    const page = await app.request('/admin', {}, { ...env, ADMIN_TOKEN: undefined })
    expect(page.status).toBe(503)
    const login = await app.request(
      '/admin/login',
      { method: 'POST', body: new URLSearchParams({ token: 'undefined' }) },
      { ...env, ADMIN_TOKEN: undefined },
    )
    expect(login.status).toBe(503)
  })
})

describe('CSRF on cookie-authenticated writes', () => {
  it('refuses a write with no Origin and no Sec-Fetch-Site', async () => {
    const response = await replayWithCookie(await loginCookie())
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ error: 'cross_origin' })
  })

  it('refuses a write from another origin, even with Sec-Fetch-Site claiming same-origin', async () => {
    const cookie = await loginCookie()
    expect((await replayWithCookie(cookie, { Origin: 'https://evil.example' })).status).toBe(403)
    expect((await replayWithCookie(cookie, { Origin: 'null' })).status).toBe(403)
    const mixed = await replayWithCookie(cookie, {
      Origin: 'https://evil.example',
      'Sec-Fetch-Site': 'same-origin',
    })
    expect(mixed.status).toBe(403)
    expect((await replayWithCookie(cookie, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403)
  })

  it('accepts a write from its own origin, or marked Sec-Fetch-Site: same-origin', async () => {
    const cookie = await loginCookie()
    const sameOrigin = await replayWithCookie(cookie, { Origin: ORIGIN })
    expect(sameOrigin.status).toBe(200)
    expect(await sameOrigin.json()).toMatchObject({ success: true, replayed: 0 })
    expect((await replayWithCookie(cookie, { 'Sec-Fetch-Site': 'same-origin' })).status).toBe(200)
  })

  it('guards the replay button the same way', async () => {
    const response = await routerFetch('/admin/deliveries/replay', {
      method: 'POST',
      headers: { Cookie: await loginCookie(), Origin: 'https://evil.example' },
      body: new URLSearchParams({ source: 'web', messageId: 'm-1', destination: 'CrowdPower' }),
      redirect: 'manual',
    })
    expect(response.status).toBe(403)
  })

  it('exempts Bearer requests: they cannot be forged by a browser', async () => {
    const response = await routerFetch('/admin/replay', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, Origin: 'https://elsewhere.example' },
      body: PROBE_REPLAY,
    })
    expect(response.status).toBe(200)
  })

  it('lets cookie-authenticated reads through without an Origin', async () => {
    const response = await routerFetch('/admin/stats', { headers: { Cookie: await loginCookie() } })
    expect(response.status).toBe(200)
  })
})
