import { expect } from 'vitest'
import { ADMIN_TOKEN, ORIGIN, routerFetch } from '../helpers/router'

/** Submits the login form as a browser would; returns the response unread. */
export function submitLogin(token: string, origin = ORIGIN): Promise<Response> {
  return routerFetch('/admin/login', {
    method: 'POST',
    headers: { Origin: origin },
    body: new URLSearchParams({ token }),
    redirect: 'manual',
  })
}

/** Logs in with the right token and returns the `Cookie` header value a browser would send back. */
export async function loginCookie(): Promise<string> {
  const response = await submitLogin(ADMIN_TOKEN)
  expect(response.status).toBe(303)
  const setCookie = response.headers.get('set-cookie') ?? ''
  const pair = setCookie.split(';')[0] ?? ''
  expect(pair).toMatch(/^router_admin=[0-9a-f]{64}$/)
  return pair
}

/** A signed-in page as HTML (the browser's cookie, no Bearer header). */
export async function dashboardHtml(path: string, cookie: string): Promise<string> {
  const response = await routerFetch(path, { headers: { Cookie: cookie } })
  expect(response.status, path).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/html/)
  return response.text()
}
