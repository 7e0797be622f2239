import { afterEach, describe, expect, it, vi } from 'vitest'
import { ADMIN_TOKEN, basicAuth, putConfig, routerFetch, spyOnQueue, WEB } from '../helpers/router'

/**
 * valibot v1 gives an object schema's own message to a key that is absent, so
 * `plainObject`/`exactObject` once reported a missing `messageId` as "must be a
 * JSON object". Every absent key now reads "<key> is required" at its own path.
 */

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }

interface ErrorBody {
  success: boolean
  error: string
  issues?: { path: string; message: string }[]
}

function send(method: string, path: string, body: unknown): Promise<Response> {
  return routerFetch(path, { method, headers: admin, body: JSON.stringify(body) })
}

async function storedConfig(): Promise<unknown> {
  const response = await routerFetch('/admin/config', { headers: admin })
  expect(response.status).toBe(200)
  return response.json()
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('POST /admin/replay (plainObject)', () => {
  it('names each absent key of a delivery at its path, and queues nothing', async () => {
    const queue = spyOnQueue()
    const response = await send('POST', '/admin/replay', { deliveries: [{ source: 'demo' }] })
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorBody
    expect(body.error).toBe('invalid_replay')
    expect(body.issues).toEqual([
      { path: 'deliveries.0.messageId', message: 'messageId is required' },
      { path: 'deliveries.0.destination', message: 'destination is required' },
    ])
    expect(queue.requests()).toEqual([])
  })

  it('still words a delivery that is not an object as such', async () => {
    const queue = spyOnQueue()
    for (const pair of ['demo', ['demo'], null]) {
      const response = await send('POST', '/admin/replay', { deliveries: [pair] })
      expect(response.status, JSON.stringify(pair)).toBe(400)
      const body = (await response.json()) as ErrorBody
      expect(body.issues).toEqual([{ path: 'deliveries.0', message: 'must be a JSON object' }])
    }
    expect(queue.requests()).toEqual([])
  })
})

describe('PUT /admin/config', () => {
  it('names absent keys in plainObject, exactObject and plain v.object schemas, and stores nothing', async () => {
    await putConfig({ sources: [WEB] })
    const before = await storedConfig()
    // A source (plainObject) whose Crisp settings (the destination's own v.object) lack
    // websiteId, with a filter (exactObject) that lacks its action.
    const crisp = { apiKey: 'crisp-identifier:crisp-key', filters: [{ name: 'no-action', types: ['track'] }] }
    const withSource = (source: Record<string, unknown>) =>
      send('PUT', '/admin/config', {
        sources: [{ name: 'other', destinations: { Crisp: crisp }, ...source }],
      })

    const response = await withSource({})
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorBody
    expect(body.error).toBe('invalid_config')
    expect(body.issues).toEqual([{ path: 'sources.0.writeKey', message: 'writeKey is required' }])
    expect(await storedConfig()).toEqual(before)

    // With a write key, the destination's own absent keys are reached.
    const nested = await withSource({ writeKey: 'wk_other_123456' })
    expect(nested.status).toBe(400)
    expect(((await nested.json()) as ErrorBody).issues).toEqual([
      { path: 'sources.0.destinations.Crisp.filters.0.action', message: 'action is required' },
      { path: 'sources.0.destinations.Crisp.websiteId', message: 'websiteId is required' },
    ])
    expect(await storedConfig()).toEqual(before)
  })

  it('names the absent key of an alert target of either kind, not its kind', async () => {
    await putConfig({ sources: [WEB] })
    const before = await storedConfig()
    const response = await send('PUT', '/admin/config', {
      sources: [WEB],
      alerts: {
        targets: [
          { kind: 'webhook', url: 'https://hooks.example.com/router' },
          { kind: 'slack', name: 'ops' },
        ],
      },
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorBody).issues).toEqual([
      { path: 'alerts.targets.0.secret', message: 'secret is required' },
      { path: 'alerts.targets.1.url', message: 'url is required' },
    ])
    expect(await storedConfig()).toEqual(before)
  })

  it('names an absent sources key, while a document that is not an object keeps its message', async () => {
    await putConfig({ sources: [WEB] })
    const before = await storedConfig()
    const missing = await send('PUT', '/admin/config', {})
    expect(missing.status).toBe(400)
    expect(((await missing.json()) as ErrorBody).issues).toEqual([
      { path: 'sources', message: 'sources is required' },
    ])
    const array = await send('PUT', '/admin/config', [])
    expect(array.status).toBe(400)
    expect(((await array.json()) as ErrorBody).issues).toEqual([
      { path: '', message: 'the config document must be a JSON object' },
    ])
    expect(await storedConfig()).toEqual(before)
  })
})

describe('POST /v1/batch', () => {
  it('names an absent batch, and queues nothing', async () => {
    await putConfig({ sources: [WEB] })
    const queue = spyOnQueue()
    const response = await routerFetch('/v1/batch', {
      method: 'POST',
      headers: { Authorization: basicAuth(WEB.writeKey) },
      body: JSON.stringify({ sentAt: '2024-01-01T00:00:00.000Z' }),
    })
    expect(response.status).toBe(400)
    const body = (await response.json()) as ErrorBody
    expect(body.error).toBe('invalid_batch')
    expect(body.issues).toEqual([{ path: 'batch', message: 'batch is required' }])
    expect(queue.requests()).toEqual([])
  })

  it('keeps the message a schema chose for an absent key', async () => {
    await putConfig({ sources: [WEB] })
    const queue = spyOnQueue()
    const response = await routerFetch('/v1/track', {
      method: 'POST',
      headers: { Authorization: basicAuth(WEB.writeKey) },
      body: JSON.stringify({ userId: 'u' }),
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorBody).issues).toEqual([
      { path: 'event', message: 'event is required on track' },
    ])
    expect(queue.requests()).toEqual([])
  })
})
