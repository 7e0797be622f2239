import { expect, it, vi } from 'vitest'
import { basicAuth, routerFetch, spyOnQueue, useSources, WEB } from '../helpers/router'

const APP = { name: 'app', writeKey: 'wk_other_654321', destinations: {} }

useSources(WEB, APP)

const items = [
  { type: 'track', userId: 'u', event: 'A' },
  { type: 'track', userId: 'u', event: 'B', messageId: 'client-chosen-id' },
  { type: 'identify', userId: 'u', traits: { plan: 'pro' } },
]

async function queuedIds(body: unknown, writeKey = WEB.writeKey): Promise<string[]> {
  const queue = spyOnQueue()
  const response = await routerFetch('/v1/batch', {
    method: 'POST',
    headers: { Authorization: basicAuth(writeKey) },
    body: JSON.stringify(body),
  })
  expect(response.status).toBe(200)
  const ids = queue.events().map((event) => event.messageId)
  vi.restoreAllMocks()
  return ids
}

it('fills a missing messageId with rtr- and a SHA-256, within 100 characters', async () => {
  const [a, b, c] = await queuedIds({ sentAt: '2024-01-01T00:00:00Z', batch: items })
  expect(a).toMatch(/^rtr-[0-9a-f]{64}$/)
  expect(a?.length).toBeLessThanOrEqual(100)
  expect(b).toBe('client-chosen-id')
  expect(c).toMatch(/^rtr-[0-9a-f]{64}$/)
  expect(c).not.toBe(a)
})

it('fills the same ids when a client retries the same request, so the retry dedupes', async () => {
  const body = { sentAt: '2024-01-01T00:00:00Z', batch: items }
  expect(await queuedIds(body)).toEqual(await queuedIds(body))
})

it('fills different ids for the same event in a request sent at another time', async () => {
  const [first] = await queuedIds({ sentAt: '2024-01-01T00:00:00Z', batch: items })
  const [later] = await queuedIds({ sentAt: '2024-01-01T00:00:01Z', batch: items })
  expect(later).not.toBe(first)
})

it('fills different ids for the same request to another source', async () => {
  const body = { sentAt: '2024-01-01T00:00:00Z', batch: items }
  const [web] = await queuedIds(body)
  const [app] = await queuedIds(body, APP.writeKey)
  expect(app).not.toBe(web)
})

it('rejects a client messageId over 100 characters', async () => {
  const response = await routerFetch('/v1/track', {
    method: 'POST',
    headers: { Authorization: basicAuth(WEB.writeKey) },
    body: JSON.stringify({ userId: 'u', event: 'E', messageId: 'm'.repeat(101) }),
  })
  expect(response.status).toBe(400)
  expect(await response.json()).toMatchObject({ issues: [{ path: 'messageId' }] })
})
