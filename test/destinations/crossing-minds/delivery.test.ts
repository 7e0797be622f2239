import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { SANDBOX_CREDENTIALS } from '../../../sandbox/credentials'
import { crossingMindsDestination } from '../../../src/destinations/crossing-minds'
import { type CrossingMindsSession, databaseKey } from '../../../src/destinations/crossing-minds/client'
import { SandboxTenant } from '../../helpers/sandbox'
import { cmCalls, cmContext, cmState, EVENT_UNIX_SECONDS, event, items } from './fixtures'

let tenant: SandboxTenant

beforeEach(() => {
  tenant = new SandboxTenant()
})

const identify = (userId: string, traits: Record<string, unknown>) => event('identify', { userId, traits })
const viewed = (userId: string, productId: string) =>
  event('track', { userId, event: 'Product Viewed', properties: { product_id: productId } })

/** Logs in once so later faults hit data calls, not the login. */
async function warmUp(context: ReturnType<typeof cmContext>): Promise<void> {
  const outcomes = await crossingMindsDestination.deliver(items([identify('warm', {})]), context)
  expect(outcomes).toEqual([{ status: 'delivered', partnerStatus: 200 }])
}

describe('Crossing Minds delivery', () => {
  it('logs in, declares new properties, upserts the user and records the interaction', async () => {
    const context = cmContext(tenant)
    const outcomes = await crossingMindsDestination.deliver(
      items([identify('u1', { plan: 'pro', seats: 3, vip: true }), viewed('u1', 'sku-1')]),
      context,
    )
    expect(outcomes).toEqual([
      { status: 'delivered', partnerStatus: 200 },
      { status: 'delivered', partnerStatus: 201, summary: '1 interaction' },
    ])

    const recorded = await tenant.requests('crossingminds')
    expect(recorded.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/login/service/',
      'POST /v1/users-properties/',
      'POST /v1/users-properties/',
      'POST /v1/users-properties/',
      'PATCH /v1/users/u1/properties/',
      'POST /v1/users/u1/interactions-bulk/',
    ])
    const [login, ...rest] = recorded
    const creds = SANDBOX_CREDENTIALS.crossingMinds
    expect(login?.body).toEqual({ name: creds.name, password: creds.password, db_id: creds.dbId })
    expect(login?.headers.authorization).toBeUndefined()
    for (const request of rest) {
      expect(request.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
      expect(request.headers['content-type']).toBe('application/json')
    }
    expect(recorded.slice(1, 4).map((r) => r.body)).toEqual(
      expect.arrayContaining([
        { property_name: 'plan', value_type: 'unicode', repeated: false },
        { property_name: 'seats', value_type: 'float64', repeated: false },
        { property_name: 'vip', value_type: 'bool', repeated: false },
      ]),
    )
    expect(recorded[4]?.body).toEqual({ user: { plan: 'pro', seats: 3, vip: true }, create_if_missing: true })
    expect(recorded[5]?.body).toEqual({
      interactions: [{ item_id: 'sku-1', interaction_type: 'Product Viewed', timestamp: EVENT_UNIX_SECONDS }],
    })

    const state = await cmState(tenant)
    expect(state.users.u1).toEqual({ plan: 'pro', seats: 3, vip: true })
    expect(state.interactions).toEqual([
      { user_id: 'u1', item_id: 'sku-1', interaction_type: 'Product Viewed', timestamp: EVENT_UNIX_SECONDS },
    ])
  })

  it('reuses one login for many events, deliveries and concurrent calls, via memory and KV', async () => {
    const source = `src-${crypto.randomUUID()}`
    const context = cmContext(tenant, { source })
    await Promise.all(
      [0, 1, 2, 3, 4].map((n) =>
        crossingMindsDestination.deliver(items([viewed(`u${n}`, 'p'), viewed(`u${n}`, 'q')]), context),
      ),
    )
    await crossingMindsDestination.deliver(
      items([identify('u9', { plan: 'a' })]),
      cmContext(tenant, { source }),
    )
    const state = await cmState(tenant)
    expect(state.logins).toBe(1)
    expect(state.interactions).toHaveLength(10)

    // The session and the declared properties are in KV for other isolates.
    const keys = await env.PARTNER_STATE.list({ prefix: `state:Crossing Minds:${source}:` })
    const names = keys.keys.map((key) => key.name.split(':')[3])
    expect(names).toEqual(expect.arrayContaining(['session', 'properties']))
  })

  it('adopts a session and declarations another isolate left in KV, without logging in or declaring', async () => {
    const token = await directLogin(tenant)
    const declared = await fetch(`${tenant.apiBase('crossingminds')}/v1/users-properties/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ property_name: 'plan', value_type: 'unicode', repeated: false }),
    })
    expect(declared.status).toBe(201)
    const context = cmContext(tenant)
    const dbKey = await databaseKey(context)
    const session: CrossingMindsSession = {
      token,
      refreshToken: 'unused',
      tokenExpiresAt: Date.now() + 10 * 60_000,
      refreshExpiresAt: Date.now() + 24 * 3_600_000,
      idTypes: { user: 'urlsafe64', item: 'urlsafe64', session: 'urlsafe64' },
    }
    await context.state.put(`session:${dbKey}`, session)
    await context.state.put(`properties:${dbKey}`, {
      plan: { name: 'plan', valueType: 'unicode', repeated: false },
    })

    const outcomes = await crossingMindsDestination.deliver(items([identify('u1', { plan: 'pro' })]), context)
    expect(outcomes).toEqual([{ status: 'delivered', partnerStatus: 200 }])
    const recorded = await tenant.requests('crossingminds')
    expect(recorded.map((r) => `${r.method} ${r.path}`).slice(2)).toEqual(['PATCH /v1/users/u1/properties/'])
    expect(recorded.at(-1)?.headers.authorization).toBe(`Bearer ${token}`)
    expect((await cmState(tenant)).logins).toBe(1) // the direct login above, none from the router
  })

  it('declares a property once, then answers from its cache', async () => {
    const context = cmContext(tenant)
    await crossingMindsDestination.deliver(items([identify('u1', { plan: 'pro' })]), context)
    const before = (await cmCalls(tenant)).length
    const outcomes = await crossingMindsDestination.deliver(
      items([identify('u2', { plan: 'free' }), identify('u3', { Plan: 'team' })]),
      cmContext(tenant),
    )
    expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'delivered'])
    // No declaration: only the users' write (one bulk for both).
    expect((await cmCalls(tenant)).slice(before)).toEqual(['PATCH /v1/users-bulk/properties/'])
    expect((await cmState(tenant)).users.u3).toEqual({ plan: 'team' })
  })

  it('adopts the type of a property declared elsewhere (DUPLICATED → read it → conform)', async () => {
    const context = cmContext(tenant)
    await warmUp(context)
    const token = await directLogin(tenant)
    const declared = await fetch(`${tenant.apiBase('crossingminds')}/v1/users-properties/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ property_name: 'seats', value_type: 'unicode', repeated: false }),
    })
    expect(declared.status).toBe(201)

    const outcomes = await crossingMindsDestination.deliver(items([identify('u1', { seats: 4 })]), context)
    expect(outcomes).toEqual([{ status: 'delivered', partnerStatus: 200 }])
    const recorded = await tenant.requests('crossingminds')
    expect(recorded.slice(-3).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /v1/users-properties/ 400',
      'GET /v1/users-properties/seats/ 200',
      'PATCH /v1/users/u1/properties/ 200',
    ])
    expect((await cmState(tenant)).users.u1).toEqual({ seats: '4' })
  })

  it('refreshes the JWT on 401 code 22 and resends', async () => {
    const context = cmContext(tenant)
    await warmUp(context)
    await tenant.control('crossingminds', 'expire-tokens')
    const before = (await tenant.requests('crossingminds')).length
    const outcomes = await crossingMindsDestination.deliver(items([identify('u1', {})]), context)
    expect(outcomes).toEqual([{ status: 'delivered', partnerStatus: 200 }])
    const recorded = (await tenant.requests('crossingminds')).slice(before)
    expect(recorded.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'PATCH /v1/users/u1/properties/ 401',
      'POST /v1/login/refresh-token/ 200',
      'PATCH /v1/users/u1/properties/ 200',
    ])
    expect(recorded[0]?.headers.authorization).not.toBe(recorded[2]?.headers.authorization)
    expect(recorded[1]?.body).toMatchObject({ refresh_token: expect.any(String), db_id: 'sandbox-db' })
    const state = await cmState(tenant)
    expect([state.logins, state.refreshes]).toEqual([1, 1])
  })

  it('logs in again when the refresh token is dead too (code 28)', async () => {
    const context = cmContext(tenant)
    await warmUp(context)
    await tenant.control('crossingminds', 'expire-tokens')
    await tenant.control('crossingminds', 'expire-refresh-tokens')
    const before = (await tenant.requests('crossingminds')).length
    const outcomes = await crossingMindsDestination.deliver(items([viewed('u1', 'p1')]), context)
    expect(outcomes).toMatchObject([{ status: 'delivered' }])
    const recorded = (await tenant.requests('crossingminds')).slice(before)
    expect(recorded.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /v1/users/u1/interactions-bulk/ 401',
      'POST /v1/login/refresh-token/ 401',
      'POST /v1/login/service/ 200',
      'POST /v1/users/u1/interactions-bulk/ 201',
    ])
    expect((await cmState(tenant)).logins).toBe(2)
  })

  it('reads the JWT exp claim: a token past its exp is refreshed before use, a live one is kept', async () => {
    // Tokens live 5 minutes; the delivery 10 minutes later must not use the old one.
    await tenant.control('crossingminds', 'token-lifetime', { seconds: 300 })
    const context = cmContext(tenant)
    await warmUp(context)
    const later = { ...context, now: () => Date.now() + 10 * 60_000 }
    let before = (await tenant.requests('crossingminds')).length
    await crossingMindsDestination.deliver(items([identify('u1', {})]), later)
    expect((await cmCalls(tenant)).slice(before)).toEqual([
      'POST /v1/login/refresh-token/',
      'PATCH /v1/users/u1/properties/',
    ])
    // A 29-minute token (the default) is still good 10 minutes later.
    const fresh = new SandboxTenant()
    const freshContext = cmContext(fresh)
    await crossingMindsDestination.deliver(items([identify('warm', {})]), freshContext)
    before = (await fresh.requests('crossingminds')).length
    await crossingMindsDestination.deliver(items([identify('u1', {})]), {
      ...freshContext,
      now: () => Date.now() + 10 * 60_000,
    })
    expect((await cmCalls(fresh)).slice(before)).toEqual(['PATCH /v1/users/u1/properties/'])
  })

  it('sends a multi-product event as one bulk request', async () => {
    const order = event('track', {
      userId: 'u1',
      event: 'Order Completed',
      properties: {
        order_id: 'o1',
        products: [{ product_id: 'a' }, { product_id: 'b' }, { product_id: 'c' }],
      },
    })
    const outcomes = await crossingMindsDestination.deliver(items([order]), cmContext(tenant))
    expect(outcomes).toEqual([{ status: 'delivered', partnerStatus: 201, summary: '3 interactions' }])
    const recorded = await tenant.requests('crossingminds')
    const bulk = recorded.filter((r) => r.path.includes('interactions'))
    expect(bulk).toHaveLength(1)
    expect(bulk[0]?.path).toBe('/v1/users/u1/interactions-bulk/')
    expect((await cmState(tenant)).interactions.map((i) => i.item_id)).toEqual(['a', 'b', 'c'])
  })

  it('sends several users’ events as one many-users bulk request', async () => {
    const outcomes = await crossingMindsDestination.deliver(
      items([viewed('u1', 'a'), viewed('u2', 'b')]),
      cmContext(tenant),
    )
    expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'delivered'])
    const bulk = (await tenant.requests('crossingminds')).filter((r) => r.path.includes('interactions'))
    expect(bulk.map((r) => r.path)).toEqual(['/v1/interactions-bulk/'])
    expect((await cmState(tenant)).interactions.map((i) => [i.user_id, i.item_id])).toEqual([
      ['u1', 'a'],
      ['u2', 'b'],
    ])
  })

  it('records anonymous events on the anonymousId session', async () => {
    const anonymous = event('track', {
      anonymousId: 'anon-1',
      event: 'Product Added',
      properties: { product_id: 'p1' },
    })
    const outcomes = await crossingMindsDestination.deliver(
      items([anonymous]),
      cmContext(tenant, { settings: { interactionTypes: { 'Product Added': 'addToCart' } } }),
    )
    expect(outcomes).toMatchObject([{ status: 'delivered' }])
    expect((await cmCalls(tenant)).at(-1)).toBe('POST /v1/sessions/anon-1/interactions-bulk/')
    expect((await cmState(tenant)).interactions).toEqual([
      { session_id: 'anon-1', item_id: 'p1', interaction_type: 'addToCart', timestamp: EVENT_UNIX_SECONDS },
    ])
  })

  it('drops what Crossing Minds cannot take without calling it', async () => {
    const outcomes = await crossingMindsDestination.deliver(
      items([
        event('track', { userId: 'u1', event: 'Signed Up' }),
        event('track', {
          userId: 'u1',
          event: 'Audience Entered',
          properties: { audience_key: 'vip', vip: true },
        }),
        event('track', { userId: 'u1', event: 'Products Searched', properties: { query: 'shoes' } }),
        event('identify', { anonymousId: 'a1', traits: { plan: 'pro' } }),
        event('page', { userId: 'u1', name: 'Home' }),
      ]),
      cmContext(tenant),
    )
    expect(outcomes.map((o) => (o.status === 'dropped' ? o.reason : o.status))).toEqual([
      'unsupported_event',
      'unsupported_event',
      'missing_item_id',
      'missing_user_id',
      'unsupported_call',
    ])
    expect(await tenant.requests('crossingminds')).toEqual([])
  })

  it('retries on an injected 500', async () => {
    const context = cmContext(tenant)
    await warmUp(context)
    await tenant.fault('crossingminds', {
      status: 500,
      body: { error_code: 0, error_name: 'ServerError' },
      count: 1,
    })
    const outcomes = await crossingMindsDestination.deliver(items([viewed('u1', 'p')]), context)
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'retry', partnerStatus: 500, error: 'ServerError' }),
    ])
  })

  it('retries a 429 with Retry-After, or with error_data.retry_after', async () => {
    const context = cmContext(tenant)
    await warmUp(context)
    await tenant.fault('crossingminds', { status: 429, retryAfter: '30', count: 1 })
    expect(await crossingMindsDestination.deliver(items([viewed('u1', 'p')]), context)).toEqual([
      expect.objectContaining({ status: 'retry', partnerStatus: 429, retryAfterSeconds: 30 }),
    ])
    await tenant.fault('crossingminds', {
      status: 429,
      body: {
        error_code: 2,
        error_name: 'TooManyRequests',
        message: 'limit',
        error_data: { retry_after: 7 },
      },
      count: 1,
    })
    expect(await crossingMindsDestination.deliver(items([viewed('u1', 'p')]), context)).toEqual([
      expect.objectContaining({ status: 'retry', error: 'TooManyRequests', retryAfterSeconds: 7 }),
    ])
  })

  it('fails on a 400 with the partner’s error_name', async () => {
    const context = cmContext(tenant)
    await warmUp(context)
    await tenant.fault('crossingminds', {
      status: 400,
      body: {
        error_code: 40,
        error_name: 'WrongData',
        message: 'bad',
        error_data: { name: 'WRONG_DATA_TYPE' },
      },
      count: 1,
    })
    expect(await crossingMindsDestination.deliver(items([identify('u1', {})]), context)).toEqual([
      expect.objectContaining({ status: 'failed', reason: 'WrongData', partnerStatus: 400 }),
    ])
  })

  it('splits a refused multi-event bulk so one bad event does not fail the others', async () => {
    const tooLong = 'x'.repeat(65) // the emulator's urlsafe64 item ids are at most 64 characters
    const outcomes = await crossingMindsDestination.deliver(
      items([viewed('u1', 'good'), viewed('u2', tooLong)]),
      cmContext(tenant),
    )
    expect(outcomes).toEqual([
      { status: 'delivered', partnerStatus: 201, summary: '1 interaction' },
      expect.objectContaining({ status: 'failed', reason: 'WrongData', partnerStatus: 400 }),
    ])
    expect((await cmState(tenant)).interactions.map((i) => i.item_id)).toEqual(['good'])
  })

  it('upserts several users in one bulk PATCH, and a user identified twice in order', async () => {
    const outcomes = await crossingMindsDestination.deliver(
      items([identify('u1', { plan: 'a' }), identify('u2', { plan: 'b' }), identify('u1', { plan: 'c' })]),
      cmContext(tenant),
    )
    expect(outcomes).toEqual([
      { status: 'delivered', partnerStatus: 200 },
      { status: 'delivered', partnerStatus: 200 },
      { status: 'delivered', partnerStatus: 200 },
    ])
    const recorded = await tenant.requests('crossingminds')
    const writes = recorded.filter((r) => r.method === 'PATCH')
    expect(writes.map((r) => r.path)).toEqual(['/v1/users-bulk/properties/', '/v1/users/u1/properties/'])
    expect(writes[0]?.body).toEqual({
      users: [
        { plan: 'a', user_id: 'u1' },
        { plan: 'b', user_id: 'u2' },
      ],
      create_if_missing: true,
    })
    expect((await cmState(tenant)).users).toEqual({ u1: { plan: 'c' }, u2: { plan: 'b' } })
  })

  it('splits a refused bulk of users so one bad identify does not fail the others', async () => {
    const tooLong = 'x'.repeat(65) // longer than the emulator's urlsafe64 user ids
    const outcomes = await crossingMindsDestination.deliver(
      items([identify('u1', { plan: 'a' }), identify(tooLong, { plan: 'b' })]),
      cmContext(tenant),
    )
    expect(outcomes).toEqual([
      { status: 'delivered', partnerStatus: 200 },
      expect.objectContaining({ status: 'failed', reason: 'WrongData', partnerStatus: 400 }),
    ])
    expect((await cmState(tenant)).users).toEqual({ u1: { plan: 'a' } })
    const writes = (await tenant.requests('crossingminds')).filter((r) => r.method === 'PATCH')
    expect(writes.map((r) => `${r.path} ${r.status}`)).toEqual([
      '/v1/users-bulk/properties/ 400',
      expect.stringMatching(/^\/v1\/users\/(u1|x+)\/properties\/ (200|400)$/),
      expect.stringMatching(/^\/v1\/users\/(u1|x+)\/properties\/ (200|400)$/),
    ])
  })

  it('retries when the partner hangs past the timeout', async () => {
    const context = cmContext(tenant, { timeoutMs: 300 })
    await warmUp(context)
    await tenant.fault('crossingminds', { mode: 'hang', count: 1 })
    expect(await crossingMindsDestination.deliver(items([viewed('u1', 'p')]), context)).toEqual([
      expect.objectContaining({ status: 'retry', error: 'network_error' }),
    ])
  })

  it('fails every item with AuthError when the credentials are wrong, sending nothing else', async () => {
    const outcomes = await crossingMindsDestination.deliver(
      items([
        identify('u1', { plan: 'x' }),
        viewed('u1', 'p'),
        event('track', { userId: 'u1', event: 'Signed Up' }),
      ]),
      cmContext(tenant, { settings: { apiPassword: 'wrong' } }),
    )
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'failed', reason: 'AuthError', partnerStatus: 401 }),
      expect.objectContaining({ status: 'failed', reason: 'AuthError', partnerStatus: 401 }),
      expect.objectContaining({ status: 'dropped', reason: 'unsupported_event' }),
    ])
    expect(await cmCalls(tenant)).toEqual(['POST /v1/login/service/'])
  })
})

/** A token straight from the emulator, for calls that play "someone else" in the same database. */
async function directLogin(sandbox: SandboxTenant): Promise<string> {
  const creds = SANDBOX_CREDENTIALS.crossingMinds
  const response = await fetch(`${sandbox.apiBase('crossingminds')}/v1/login/service/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: creds.name, password: creds.password, db_id: creds.dbId }),
  })
  return ((await response.json()) as { token: string }).token
}
