import { beforeEach, expect, it } from 'vitest'
import { ADMIN_TOKEN, putConfig, routerFetch, WEB } from '../helpers/router'

beforeEach(async () => {
  await putConfig({ sources: [WEB] })
})

const preflight = (path: string) =>
  routerFetch(path, {
    method: 'OPTIONS',
    headers: {
      Origin: 'https://shop.example',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type,authorization,x-retry-count',
    },
  })

it('answers a browser preflight on /v1/*', async () => {
  const response = await preflight('/v1/t')
  expect(response.status).toBe(204)
  expect(response.headers.get('Access-Control-Allow-Origin')).toBe('*')
  expect(response.headers.get('Access-Control-Allow-Methods')).toBe('POST,OPTIONS')
  expect(response.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toBe(
    'content-type,authorization,x-retry-count',
  )
})

it('lets the page read successes and errors alike', async () => {
  const ok = await routerFetch('/v1/t', {
    method: 'POST',
    headers: { Origin: 'https://shop.example', 'Content-Type': 'text/plain' },
    body: JSON.stringify({ writeKey: WEB.writeKey, userId: 'u', event: 'E' }),
  })
  const refused = await routerFetch('/v1/t', {
    method: 'POST',
    headers: { Origin: 'https://shop.example' },
    body: JSON.stringify({ userId: 'u', event: 'E' }),
  })
  expect([ok.status, refused.status]).toEqual([200, 401])
  expect(ok.headers.get('Access-Control-Allow-Origin')).toBe('*')
  expect(refused.headers.get('Access-Control-Allow-Origin')).toBe('*')
})

it('gives /admin no CORS headers', async () => {
  const response = await routerFetch('/admin/config', {
    headers: { Origin: 'https://shop.example', Authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  expect(response.status).toBe(200)
  expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
  expect((await preflight('/admin/config')).headers.get('Access-Control-Allow-Origin')).toBeNull()
})
