import { describe, expect, it } from 'vitest'
import { crowdPowerDestination } from '../../../src/destinations/crowdpower'
import type { DeliveryItem } from '../../../src/destinations/types'
import { SandboxTenant } from '../../helpers/sandbox'
import {
  CROWDPOWER_PUBLIC_KEY,
  crowdPowerContext,
  crowdPowerCustomers,
  items,
  segmentEvent,
} from './fixtures'

/** 2024-05-01T10:00:00Z, the builders' event timestamp. */
const EVENT_SECONDS = 1714557600

function identify(userId: string, traits: Record<string, unknown> = {}) {
  return segmentEvent('identify', { userId, traits })
}

function track(userId: string, event: string, properties: Record<string, unknown> = {}) {
  return segmentEvent('track', { userId, event, properties })
}

function deliver(itemsToSend: DeliveryItem[], context: ReturnType<typeof crowdPowerContext>) {
  return crowdPowerDestination.deliver(itemsToSend, context)
}

describe('CrowdPower delivery', () => {
  it('sends one identify as POST /customers with the public key as Bearer', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([
        identify('u-1', {
          email: 'jo@example.com',
          name: 'Jo',
          createdAt: '2024-05-01T10:00:00Z',
          plan: 'pro',
        }),
      ]),
      crowdPowerContext(tenant),
    )
    expect(outcomes).toEqual([{ status: 'delivered', partnerStatus: 200 }])
    const [request, ...rest] = await tenant.requests('crowdpower')
    expect(rest).toHaveLength(0)
    expect(request).toMatchObject({
      method: 'POST',
      path: '/customers',
      status: 200,
      headers: { authorization: `Bearer ${CROWDPOWER_PUBLIC_KEY}`, 'content-type': 'application/json' },
      body: {
        user_id: 'u-1',
        email: 'jo@example.com',
        name: 'Jo',
        signed_up_at: EVENT_SECONDS,
        custom_attributes: { plan: 'pro' },
      },
    })
    expect(await crowdPowerCustomers(tenant)).toEqual([
      expect.objectContaining({
        user_id: 'u-1',
        email: 'jo@example.com',
        custom_attributes: { plan: 'pro' },
      }),
    ])
  })

  it('sends several identifies as one /customers/bulk', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([identify('u-1', { plan: 'a' }), identify('u-2', { plan: 'b' }), identify('u-1', { seats: 2 })]),
      crowdPowerContext(tenant),
    )
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['delivered', 'delivered', 'delivered'])
    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => [request.path, request.status])).toEqual([['/customers/bulk', 200]])
    expect(requests[0]?.body).toEqual({
      customers: [
        { user_id: 'u-1', custom_attributes: { plan: 'a' } },
        { user_id: 'u-2', custom_attributes: { plan: 'b' } },
        { user_id: 'u-1', custom_attributes: { seats: 2 } },
      ],
    })
    const customers = await crowdPowerCustomers(tenant)
    expect(customers.find((customer) => customer.user_id === 'u-1')?.custom_attributes).toEqual({
      plan: 'a',
      seats: 2,
    })
  })

  it("bulks one user's events (tracks and pages) and sends a single event on its own", async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([
        track('u-1', 'Signed In'),
        track('u-2', 'Signed In'),
        segmentEvent('page', { userId: 'u-1', name: 'Pricing', properties: { path: '/pricing' } }),
        track('u-1', 'Product Viewed', { productId: 'p1' }),
      ]),
      crowdPowerContext(tenant),
    )
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
      'delivered',
    ])
    const requests = await tenant.requests('crowdpower')
    expect(requests).toHaveLength(2)
    const bulk = requests.find((request) => request.path === '/events/bulk')
    expect(bulk?.body).toEqual({
      user_id: 'u-1',
      events: [
        { action: 'Signed In', created_at: EVENT_SECONDS },
        {
          action: 'Page Viewed',
          properties: { name: 'Pricing', path: '/pricing' },
          created_at: EVENT_SECONDS,
        },
        { action: 'Product Viewed', properties: { product_id: 'p1' }, created_at: EVENT_SECONDS },
      ],
    })
    const single = requests.find((request) => request.path === '/events')
    expect(single?.body).toEqual({ user_id: 'u-2', action: 'Signed In', created_at: EVENT_SECONDS })
  })

  it('sends revenue tracks as charges only: /charges alone, /charges/bulk for several of one user', async () => {
    const tenant = new SandboxTenant()
    const context = crowdPowerContext(tenant, { settings: { revenueUnit: 'major' } })
    const outcomes = await deliver(
      items([
        track('u-1', 'Order Completed', { revenue: 12, order_id: 'o-1' }),
        track('u-1', 'Order Completed', { revenue: 30.5 }),
        track('u-2', 'Order Completed', { revenue: 9.99 }),
      ]),
      context,
    )
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['delivered', 'delivered', 'delivered'])
    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => request.path).sort()).toEqual(['/charges', '/charges/bulk'])
    expect(requests.find((request) => request.path === '/charges/bulk')?.body).toEqual({
      user_id: 'u-1',
      charges: [
        { amount: 1200, created_at: EVENT_SECONDS },
        { amount: 3050, created_at: EVENT_SECONDS },
      ],
    })
    expect(requests.find((request) => request.path === '/charges')?.body).toEqual({
      user_id: 'u-2',
      amount: 999,
      created_at: EVENT_SECONDS,
    })
    const customers = await crowdPowerCustomers(tenant)
    // Charges never show up as events (CrowdPower's Segment docs).
    expect(customers.every((customer) => customer.events.length === 0)).toBe(true)
  })

  it('sends customers before the events of the same batch', async () => {
    const tenant = new SandboxTenant()
    await deliver(
      items([identify('u-1', { email: 'jo@example.com' }), track('u-1', 'Signed Up')]),
      crowdPowerContext(tenant),
    )
    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => request.path)).toEqual(['/customers', '/events'])
  })

  it('splits more than 100 events of one user into bulk requests of at most 100', async () => {
    const tenant = new SandboxTenant()
    const events = Array.from({ length: 105 }, (_, index) => track('u-1', `Step ${index}`))
    const outcomes = await deliver(items(events), crowdPowerContext(tenant))
    expect(outcomes.every((outcome) => outcome.status === 'delivered')).toBe(true)
    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => [request.path, request.status])).toEqual([
      ['/events/bulk', 200],
      ['/events/bulk', 200],
    ])
    const sizes = requests.map((request) => (request.body as { events: unknown[] }).events.length).sort()
    expect(sizes).toEqual([100, 5])
  })

  it('drops what it cannot send, with reasons, and sends the rest', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([
        segmentEvent('group', { userId: 'u-1', groupId: 'g-1' }),
        segmentEvent('track', { anonymousId: 'anon', event: 'Signed Up' }),
        track('u-1', 'Order Refunded', { revenue: 'lots' }),
        track('u-1', 'Signed In'),
      ]),
      crowdPowerContext(tenant),
    )
    expect(
      outcomes.map((outcome) => (outcome.status === 'dropped' ? outcome.reason : outcome.status)),
    ).toEqual(['unsupported_call', 'missing_user_id', 'invalid_revenue', 'delivered'])
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
  })
})

describe('CrowdPower failures', () => {
  it('retries an injected 500, for every item of the bulk request', async () => {
    const tenant = new SandboxTenant()
    await tenant.fault('crowdpower', { status: 500, count: 1 })
    const outcomes = await deliver(items([track('u-1', 'A'), track('u-1', 'B')]), crowdPowerContext(tenant))
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'retry', error: 'http_500', partnerStatus: 500 }),
      expect.objectContaining({ status: 'retry', error: 'http_500', partnerStatus: 500 }),
    ])
  })

  it('retries a 429 with its Retry-After', async () => {
    const tenant = new SandboxTenant()
    await tenant.fault('crowdpower', { status: 429, retryAfter: '9', count: 1 })
    const outcomes = await deliver(items([track('u-1', 'A')]), crowdPowerContext(tenant))
    expect(outcomes[0]).toMatchObject({ status: 'retry', partnerStatus: 429, retryAfterSeconds: 9 })
  })

  it("fails a 400 with CrowdPower's message", async () => {
    const tenant = new SandboxTenant()
    await tenant.fault('crowdpower', {
      status: 400,
      body: { success: false, code: 400, message: 'user_id is invalid' },
      count: 1,
    })
    const outcomes = await deliver(items([identify('u-1')]), crowdPowerContext(tenant))
    expect(outcomes[0]).toMatchObject({ status: 'failed', reason: 'user_id is invalid', partnerStatus: 400 })
  })

  it('retries a partner that hangs past the timeout', async () => {
    const tenant = new SandboxTenant()
    await tenant.fault('crowdpower', { mode: 'hang', count: 1 })
    const outcomes = await deliver(items([identify('u-1')]), crowdPowerContext(tenant, { timeoutMs: 300 }))
    expect(outcomes[0]).toMatchObject({ status: 'retry', error: 'network_error' })
  })

  it('fails with the 401 of a wrong key', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([identify('u-1')]),
      crowdPowerContext(tenant, { settings: { apiKey: 'pk_wrong' } }),
    )
    expect(outcomes[0]).toMatchObject({ status: 'failed', partnerStatus: 401 })
  })
})
