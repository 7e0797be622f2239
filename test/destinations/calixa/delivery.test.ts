import { beforeEach, describe, expect, it } from 'vitest'
import { calixaDestination } from '../../../src/destinations/calixa'
import { SandboxTenant } from '../../helpers/sandbox'
import {
  CALIXA_KEY,
  calixaContext,
  calixaEndpoint,
  calixaState,
  decodeSettingsHeader,
  event,
  items,
} from './fixtures'

let tenant: SandboxTenant

beforeEach(() => {
  tenant = new SandboxTenant()
})

describe('Calixa delivery', () => {
  it('posts identify and group as raw Segment JSON with the direct-destination headers', async () => {
    const identify = event('identify', {
      userId: 'u1',
      traits: { email: 'ada@example.com', firstName: 'Ada' },
    })
    const group = event('group', {
      userId: 'u1',
      groupId: 'acct_1',
      traits: { name: 'Initech', website: 'initech.com' },
    })
    const context = calixaContext(tenant, {
      settings: { apiKey: CALIXA_KEY, endpoint: calixaEndpoint(tenant), region: 'eu', enabled: true },
    })
    const outcomes = await calixaDestination.deliver(items([identify, group]), context)
    expect(outcomes).toEqual([
      { status: 'delivered', partnerStatus: 200 },
      { status: 'delivered', partnerStatus: 200 },
    ])

    const recorded = await tenant.requests('calixa')
    expect(recorded.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /segment/webhook 200',
      'POST /segment/webhook 200',
    ])
    // Sent concurrently, so they may arrive in either order.
    expect(recorded.map((r) => r.body)).toHaveLength(2)
    expect(recorded.map((r) => r.body)).toEqual(expect.arrayContaining([identify, group]))
    for (const request of recorded) {
      expect(request.headers.authorization).toBe(`Basic ${btoa(`${CALIXA_KEY}:`)}`)
      expect(request.headers['user-agent']).toBe('Segment.io/1.0')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers.accept).toBe('application/json')
      expect(request.headers['cache-control']).toBe('no-cache')
      expect(decodeSettingsHeader(request.headers['x-segment-settings'])).toEqual({
        endpoint: calixaEndpoint(tenant),
        region: 'eu',
      })
    }

    const state = await calixaState(tenant)
    expect(state.users.u1).toEqual({
      userId: 'u1',
      traits: { email: 'ada@example.com', firstName: 'Ada' },
      accounts: ['acct_1'],
    })
    expect(state.accounts.acct_1?.traits).toEqual({ name: 'Initech', website: 'initech.com' })
  })

  it('delivers each B2B SaaS track Calixa handles', async () => {
    const b2b = (name: string, fields: Record<string, unknown> = {}) =>
      event('track', { userId: 'u1', event: name, context: { groupId: 'acct_9' }, ...fields })
    const events = [
      b2b('Signed Up', { context: {}, properties: { first_name: 'Ada' } }),
      b2b('Account Created', { properties: { account_name: 'Hooli' } }),
      b2b('Account Added User', { properties: { role: 'admin' } }),
      b2b('Account Removed User'),
      b2b('Account Deleted', { properties: { account_name: 'Hooli' } }),
    ]
    const outcomes = await calixaDestination.deliver(items(events), calixaContext(tenant))
    expect(outcomes.map((o) => o.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
      'delivered',
      'delivered',
    ])
    const state = await calixaState(tenant)
    expect(state.accepted.map((a) => a.message.event)).toEqual(
      expect.arrayContaining(events.map((e) => e.event)),
    )
    expect(state.accounts.acct_9).toEqual({ groupId: 'acct_9', traits: { name: 'Hooli' }, deleted: true })
    expect(state.users.u1?.traits).toEqual({ first_name: 'Ada' })
  })

  it('drops what Calixa does not take without calling it', async () => {
    const outcomes = await calixaDestination.deliver(
      items([
        event('track', { userId: 'u1', event: 'Order Completed' }),
        event('track', { userId: 'u1', event: 'Audience Entered', properties: { audience_key: 'vip' } }),
        event('track', { userId: 'u1', event: 'Account Created', properties: { account_name: 'x' } }),
        event('page', { userId: 'u1', name: 'Home' }),
      ]),
      calixaContext(tenant),
    )
    expect(outcomes.map((o) => (o.status === 'dropped' ? o.reason : o.status))).toEqual([
      'unsupported_event',
      'unsupported_event',
      'missing_group_id',
      'unsupported_call',
    ])
    expect(await tenant.requests('calixa')).toEqual([])
  })

  it('drops every event as no_endpoint when none is configured', async () => {
    const outcomes = await calixaDestination.deliver(
      items([event('identify', { userId: 'u1' }), event('group', { userId: 'u1', groupId: 'g' })]),
      calixaContext(tenant, { settings: { apiKey: CALIXA_KEY } }),
    )
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'dropped', reason: 'no_endpoint' }),
      expect.objectContaining({ status: 'dropped', reason: 'no_endpoint' }),
    ])
    expect(await tenant.requests('calixa')).toEqual([])
  })

  it('fails with Calixa’s message when the key is wrong', async () => {
    const outcomes = await calixaDestination.deliver(
      items([event('identify', { userId: 'u1' })]),
      calixaContext(tenant, { settings: { apiKey: 'wrong', endpoint: calixaEndpoint(tenant) } }),
    )
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'failed', reason: 'invalid api key', partnerStatus: 401 }),
    ])
  })

  it('retries a 500 and a 503, and a 429 with Retry-After', async () => {
    const identify = () => items([event('identify', { userId: 'u1' })])
    await tenant.fault('calixa', { status: 500, count: 1 })
    expect(await calixaDestination.deliver(identify(), calixaContext(tenant))).toEqual([
      expect.objectContaining({ status: 'retry', partnerStatus: 500 }),
    ])
    await tenant.fault('calixa', { status: 503, body: { message: 'maintenance' }, count: 1 })
    expect(await calixaDestination.deliver(identify(), calixaContext(tenant))).toEqual([
      expect.objectContaining({ status: 'retry', partnerStatus: 503, error: 'maintenance' }),
    ])
    await tenant.fault('calixa', { status: 429, retryAfter: '20', count: 1 })
    expect(await calixaDestination.deliver(identify(), calixaContext(tenant))).toEqual([
      expect.objectContaining({ status: 'retry', partnerStatus: 429, retryAfterSeconds: 20 }),
    ])
  })

  it('fails a 400 with the partner’s message, and a 501 as permanent', async () => {
    await tenant.fault('calixa', { status: 400, body: { message: 'bad message' }, count: 1 })
    expect(
      await calixaDestination.deliver(items([event('identify', { userId: 'u1' })]), calixaContext(tenant)),
    ).toEqual([expect.objectContaining({ status: 'failed', reason: 'bad message', partnerStatus: 400 })])
    await tenant.fault('calixa', { status: 501, body: { message: 'unsupported call type' }, count: 1 })
    expect(
      await calixaDestination.deliver(items([event('identify', { userId: 'u1' })]), calixaContext(tenant)),
    ).toEqual([
      expect.objectContaining({ status: 'failed', reason: 'unsupported call type', partnerStatus: 501 }),
    ])
  })

  it('retries when Calixa hangs past the timeout', async () => {
    await tenant.fault('calixa', { mode: 'hang', count: 1 })
    const context = calixaContext(tenant, {
      settings: { apiKey: CALIXA_KEY, endpoint: calixaEndpoint(tenant) },
      timeoutMs: 300,
    })
    expect(await calixaDestination.deliver(items([event('identify', { userId: 'u1' })]), context)).toEqual([
      expect.objectContaining({ status: 'retry', error: 'network_error' }),
    ])
  })
})
