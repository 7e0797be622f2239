import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { crispDestination } from '../../../src/destinations/crisp'
import type { DeliveryItem, PartnerState } from '../../../src/destinations/types'
import { SandboxTenant } from '../../helpers/sandbox'
import { CRISP_AUTH_HEADERS, crispContext, crispPeople, items, segmentEvent } from './fixtures'

const PEOPLE = '/v1/website/sandbox-website/people'

function identify(fields: Record<string, unknown>) {
  return segmentEvent('identify', fields)
}

function track(fields: Record<string, unknown>) {
  return segmentEvent('track', { event: 'Order Completed', ...fields })
}

/**
 * KV is eventually consistent: a write may not be visible to a read for a while.
 * This state never shows this call's writes, the worst case, so only the in-memory
 * map of one `deliver` call can make a track find its identify.
 */
function withLaggingKv(context: ReturnType<typeof crispContext>): ReturnType<typeof crispContext> {
  const state: PartnerState = {
    get: (key) => context.state.get(key),
    put: async () => {},
  }
  return { ...context, state }
}

async function deliver(itemsToSend: DeliveryItem[], context: ReturnType<typeof crispContext>) {
  return crispDestination.deliver(itemsToSend, context)
}

describe('Crisp identify', () => {
  it('creates the profile, then sends custom traits as people data, with Basic auth and the tier', async () => {
    const tenant = new SandboxTenant()
    const context = crispContext(tenant)
    const outcomes = await deliver(
      items([identify({ userId: 'u-1', traits: { email: 'Jo@Example.com', name: 'Jo Doe', plan: 'pro' } })]),
      context,
    )
    expect(outcomes).toEqual([
      { status: 'delivered', partnerStatus: 200, summary: 'profile created; data updated' },
    ])

    const requests = await tenant.requests('crisp')
    expect(requests.map((request) => [request.method, request.path, request.status])).toEqual([
      ['POST', `${PEOPLE}/profile`, 201],
      ['PATCH', `${PEOPLE}/data/jo%40example.com`, 200],
    ])
    expect(requests[0]?.headers).toMatchObject({
      authorization: CRISP_AUTH_HEADERS.authorization,
      'x-crisp-tier': 'plugin',
      'content-type': 'application/json',
    })
    expect(requests[0]?.body).toEqual({ email: 'jo@example.com', person: { nickname: 'Jo Doe' } })
    expect(requests[1]?.body).toEqual({ data: { user_id: 'u-1', plan: 'pro' } })

    const [person] = await crispPeople(tenant)
    expect(person).toMatchObject({
      email: 'jo@example.com',
      person: { nickname: 'Jo Doe' },
      data: { user_id: 'u-1', plan: 'pro' },
    })
  })

  it('sends the tier from the settings', async () => {
    const tenant = new SandboxTenant()
    const context = crispContext(tenant, { settings: { tier: 'website' } })
    await deliver(items([identify({ anonymousId: 'a', traits: { email: 'jo@example.com' } })]), context)
    const [request] = await tenant.requests('crisp')
    expect(request?.headers['x-crisp-tier']).toBe('website')
    // No userId and no custom trait: the profile alone, one request, nickname from the email.
    expect(request?.body).toEqual({ email: 'jo@example.com', person: { nickname: 'jo' } })
    expect(await tenant.requests('crisp')).toHaveLength(1)
  })

  it('drops email_required when there is no email and the userId is unknown, without calling Crisp', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([identify({ userId: 'u-new', traits: { plan: 'pro' } })]),
      crispContext(tenant),
    )
    expect(outcomes).toEqual([{ status: 'dropped', reason: 'email_required', detail: expect.any(String) }])
    expect(await tenant.requests('crisp')).toHaveLength(0)
  })

  it('updates the known person when a later identify has no email but a known userId', async () => {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    await deliver(
      items([identify({ userId: 'u-1', traits: { email: 'jo@example.com' } })]),
      crispContext(tenant, { source }),
    )
    // A new deliver call (fresh memory): the userId → email map comes from KV.
    const outcomes = await deliver(
      items([identify({ userId: 'u-1', traits: { plan: 'team' } })]),
      crispContext(tenant, { source }),
    )
    expect(outcomes[0]).toMatchObject({ status: 'delivered', partnerStatus: 200 })
    const requests = await tenant.requests('crisp')
    expect(requests.at(-1)).toMatchObject({
      method: 'PATCH',
      path: `${PEOPLE}/data/jo%40example.com`,
      body: { data: { user_id: 'u-1', plan: 'team' } },
    })
    expect((await crispPeople(tenant))[0]?.data).toEqual({ user_id: 'u-1', plan: 'team' })
  })

  it('costs about one request per identify in steady state', async () => {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    const traits = { email: 'jo@example.com', name: 'Jo', plan: 'pro' }
    await deliver(items([identify({ userId: 'u-1', traits })]), crispContext(tenant, { source }))
    expect(await tenant.requests('crisp')).toHaveLength(2)

    // A custom trait changed: one request, the data PATCH (people data is not fingerprinted);
    // the profile is neither fetched nor updated, since KV knows its card is unchanged.
    const kvWrites = vi.spyOn(env.PARTNER_STATE, 'put')
    const again = await deliver(
      items([identify({ userId: 'u-1', traits: { ...traits, plan: 'team' } })]),
      crispContext(tenant, { source }),
    )
    // Steady state writes no partner state: KV writes cost ten times a ledger row.
    expect(kvWrites).not.toHaveBeenCalled()
    kvWrites.mockRestore()
    expect(again).toEqual([{ status: 'delivered', partnerStatus: 200, summary: 'data updated' }])
    const afterAgain = await tenant.requests('crisp')
    expect(afterAgain.slice(2).map((request) => [request.method, request.path])).toEqual([
      ['PATCH', `${PEOPLE}/data/jo%40example.com`],
    ])

    // Name changed: the profile PATCH (no GET first), then the data PATCH.
    const renamed = await deliver(
      items([identify({ userId: 'u-1', traits: { ...traits, name: 'Jo Doe' } })]),
      crispContext(tenant, { source }),
    )
    expect(renamed[0]).toMatchObject({ status: 'delivered', partnerStatus: 200 })
    const afterRename = await tenant.requests('crisp')
    expect(afterRename.slice(3).map((request) => [request.method, request.path, request.body])).toEqual([
      [
        'PATCH',
        `${PEOPLE}/profile/jo%40example.com`,
        { email: 'jo@example.com', person: { nickname: 'Jo Doe' } },
      ],
      ['PATCH', `${PEOPLE}/data/jo%40example.com`, { data: { user_id: 'u-1', plan: 'pro' } }],
    ])
  })

  it('sends nothing for an identify with no userId, no custom traits and an unchanged card', async () => {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    const traits = { email: 'kim@example.com', name: 'Kim' }
    await deliver(items([identify({ anonymousId: 'a-1', traits })]), crispContext(tenant, { source }))
    expect(await tenant.requests('crisp')).toHaveLength(1)
    const unchanged = await deliver(
      items([identify({ anonymousId: 'a-1', traits })]),
      crispContext(tenant, { source }),
    )
    expect(unchanged).toEqual([
      { status: 'delivered', partnerStatus: 304, summary: expect.stringContaining('unchanged') },
    ])
    expect(await tenant.requests('crisp')).toHaveLength(1)
  })

  it('updates a person that already exists in Crisp (people_exists → PATCH)', async () => {
    const tenant = new SandboxTenant()
    await tenant.control('crisp', 'add-person', { email: 'jo@example.com', nickname: 'Old Name' })
    const outcomes = await deliver(
      items([identify({ userId: 'u-1', traits: { email: 'jo@example.com', name: 'Jo' } })]),
      crispContext(tenant),
    )
    expect(outcomes[0]).toMatchObject({ status: 'delivered', partnerStatus: 200 })
    const requests = await tenant.requests('crisp')
    expect(requests.map((request) => [request.method, request.path, request.status])).toEqual([
      ['POST', `${PEOPLE}/profile`, 409],
      ['PATCH', `${PEOPLE}/profile/jo%40example.com`, 200],
      ['PATCH', `${PEOPLE}/data/jo%40example.com`, 200],
    ])
    const people = await crispPeople(tenant)
    expect(people).toHaveLength(1)
    expect(people[0]?.person.nickname).toBe('Jo')
  })

  it('does not overwrite the name of an existing person when the identify has none', async () => {
    const tenant = new SandboxTenant()
    await tenant.control('crisp', 'add-person', { email: 'jo@example.com', nickname: 'Set In Crisp' })
    await deliver(
      items([identify({ anonymousId: 'a', traits: { email: 'jo@example.com' } })]),
      crispContext(tenant),
    )
    const requests = await tenant.requests('crisp')
    expect(requests.map((request) => [request.method, request.status])).toEqual([['POST', 409]])
    expect((await crispPeople(tenant))[0]?.person.nickname).toBe('Set In Crisp')
  })

  it('creates the profile again when it was deleted in Crisp (404 people_not_found)', async () => {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    const traits = { email: 'jo@example.com', name: 'Jo', plan: 'pro' }
    await deliver(items([identify({ userId: 'u-1', traits })]), crispContext(tenant, { source }))
    await tenant.control('crisp', 'delete-person', { email: 'jo@example.com' })

    const outcomes = await deliver(
      items([identify({ userId: 'u-1', traits: { ...traits, name: 'Jo Doe' } })]),
      crispContext(tenant, { source }),
    )
    expect(outcomes[0]).toMatchObject({ status: 'delivered' })
    const requests = (await tenant.requests('crisp')).slice(2)
    expect(requests.map((request) => [request.method, request.path, request.status])).toEqual([
      ['PATCH', `${PEOPLE}/profile/jo%40example.com`, 404],
      ['POST', `${PEOPLE}/profile`, 201],
      // The data went with the deleted profile, so it is sent again although unchanged.
      ['PATCH', `${PEOPLE}/data/jo%40example.com`, 200],
    ])
    expect(await crispPeople(tenant)).toEqual([
      expect.objectContaining({ person: { nickname: 'Jo Doe' }, data: { user_id: 'u-1', plan: 'pro' } }),
    ])
  })

  it('keeps progress when only the data update fails: the retry re-sends only the data', async () => {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    await deliver(
      items([identify({ anonymousId: 'a', traits: { email: 'jo@example.com' } })]),
      crispContext(tenant, { source }),
    )
    await tenant.fault('crisp', { status: 503, count: 1 })
    const event = identify({ userId: 'u-1', traits: { email: 'jo@example.com', plan: 'pro' } })
    const failed = await deliver(items([event]), crispContext(tenant, { source }))
    expect(failed[0]).toMatchObject({ status: 'retry', partnerStatus: 503 })

    const retried = await deliver(items([event], 2), crispContext(tenant, { source }))
    expect(retried[0]).toMatchObject({ status: 'delivered', partnerStatus: 200 })
    const requests = await tenant.requests('crisp')
    expect(requests.map((request) => [request.method, request.path, request.status])).toEqual([
      ['POST', `${PEOPLE}/profile`, 201],
      ['PATCH', `${PEOPLE}/data/jo%40example.com`, 503],
      ['PATCH', `${PEOPLE}/data/jo%40example.com`, 200],
    ])
  })
})

describe('Crisp track', () => {
  it("finds the user once the identify's profile exists, even when its data update must be retried", async () => {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    await deliver(
      items([identify({ anonymousId: 'a', traits: { email: 'jo@example.com' } })]),
      crispContext(tenant, { source }),
    )
    await tenant.fault('crisp', { status: 503, count: 1 })
    const outcomes = await deliver(
      items([
        identify({ userId: 'u-1', traits: { email: 'jo@example.com', plan: 'pro' } }),
        track({ userId: 'u-1' }),
      ]),
      crispContext(tenant, { source }),
    )
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['retry', 'delivered'])
    expect((await tenant.requests('crisp')).at(-1)).toMatchObject({
      path: '/v1/website/sandbox-website/people/events/jo%40example.com',
      status: 201,
    })
  })

  it('delivers an identify and a track for the same new user in one batch (before KV shows the user)', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([
        identify({ userId: 'u-race', traits: { email: 'race@example.com' } }),
        track({ userId: 'u-race', properties: { order_id: 'o-1', total: 30 } }),
      ]),
      withLaggingKv(crispContext(tenant)),
    )
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['delivered', 'delivered'])
    const requests = await tenant.requests('crisp')
    expect(requests.at(-1)).toMatchObject({
      method: 'POST',
      path: `${PEOPLE}/events/race%40example.com`,
      status: 201,
      body: { text: 'Order Completed', data: { order_id: 'o-1', total: 30 } },
    })
    expect((await crispPeople(tenant))[0]?.events).toEqual([
      expect.objectContaining({ text: 'Order Completed', data: { order_id: 'o-1', total: 30 } }),
    ])
  })

  it('processes identifies first even when a track comes before them in the items', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([track({ userId: 'u-2' }), identify({ userId: 'u-2', traits: { email: 'two@example.com' } })]),
      crispContext(tenant),
    )
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['delivered', 'delivered'])
  })

  it('re-checks an unknown user once after the grace delay, then delivers once the identify has landed', async () => {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    const event = track({ userId: 'u-late' })
    const first = await deliver(
      items([event], 1),
      crispContext(tenant, { source, settings: { unknownUserGraceSeconds: 7 } }),
    )
    expect(first).toEqual([{ status: 'retry', error: 'unknown_user_grace', retryAfterSeconds: 7 }])
    expect(await tenant.requests('crisp')).toHaveLength(0)

    await deliver(
      items([identify({ userId: 'u-late', traits: { email: 'late@example.com' } })]),
      crispContext(tenant, { source }),
    )
    const second = await deliver(items([event], 2), crispContext(tenant, { source }))
    expect(second[0]).toMatchObject({ status: 'delivered', partnerStatus: 201 })
    expect((await tenant.requests('crisp')).at(-1)?.path).toBe(`${PEOPLE}/events/late%40example.com`)
  })

  it('drops unknown_user on the re-check when the user is still unknown', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(items([track({ userId: 'u-never' })], 2), crispContext(tenant))
    expect(outcomes).toEqual([{ status: 'dropped', reason: 'unknown_user', detail: expect.any(String) }])
    expect(await tenant.requests('crisp')).toHaveLength(0)
  })

  it('drops at once when the grace is 0', async () => {
    const tenant = new SandboxTenant()
    const context = crispContext(tenant, { settings: { unknownUserGraceSeconds: 0 } })
    const outcomes = await deliver(items([track({ userId: 'u-never' })], 1), context)
    expect(outcomes[0]).toMatchObject({ status: 'dropped', reason: 'unknown_user' })
  })

  it('uses context.traits.email for a track without userId (Engage), else drops unknown_user at once', async () => {
    const tenant = new SandboxTenant()
    await tenant.control('crisp', 'add-person', { email: 'eng@example.com' })
    const entered = track({
      anonymousId: 'a',
      event: 'Audience Entered',
      properties: { audience_key: 'vip', vip: true },
      context: { traits: { email: 'eng@example.com' } },
    })
    const anonymous = track({ anonymousId: 'a' })
    const outcomes = await deliver(items([entered, anonymous]), crispContext(tenant))
    expect(outcomes[0]).toMatchObject({ status: 'delivered', partnerStatus: 201 })
    expect(outcomes[1]).toMatchObject({ status: 'dropped', reason: 'unknown_user' })
    const requests = await tenant.requests('crisp')
    expect(requests).toHaveLength(1)
    expect(requests[0]?.body).toEqual({ text: 'Audience Entered', data: { audience_key: 'vip', vip: true } })
  })

  it('fails people_not_found when the person was deleted in Crisp, and forgets it', async () => {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    await deliver(
      items([identify({ userId: 'u-1', traits: { email: 'jo@example.com' } })]),
      crispContext(tenant, { source }),
    )
    await tenant.control('crisp', 'delete-person', { email: 'jo@example.com' })
    const outcomes = await deliver(items([track({ userId: 'u-1' })]), crispContext(tenant, { source }))
    expect(outcomes[0]).toMatchObject({ status: 'failed', reason: 'people_not_found', partnerStatus: 404 })
    // Forgotten: the same identify creates the profile again instead of being skipped as unchanged.
    await deliver(
      items([identify({ userId: 'u-1', traits: { email: 'jo@example.com' } })]),
      crispContext(tenant, { source }),
    )
    const recreated = (await tenant.requests('crisp')).slice(-2)
    expect(recreated.map((request) => [request.method, request.path, request.status])).toEqual([
      ['POST', `${PEOPLE}/profile`, 201],
      ['PATCH', `${PEOPLE}/data/jo%40example.com`, 200],
    ])
  })
})

describe('Crisp failures', () => {
  async function knownUser() {
    const tenant = new SandboxTenant()
    const source = `src-${crypto.randomUUID()}`
    await deliver(
      items([identify({ userId: 'u-1', traits: { email: 'jo@example.com' } })]),
      crispContext(tenant, { source }),
    )
    return { tenant, source }
  }

  it('retries an injected 500', async () => {
    const { tenant, source } = await knownUser()
    await tenant.fault('crisp', { status: 500, count: 1 })
    const outcomes = await deliver(items([track({ userId: 'u-1' })]), crispContext(tenant, { source }))
    expect(outcomes[0]).toMatchObject({ status: 'retry', error: 'http_500', partnerStatus: 500 })
  })

  it.each([
    [
      'retries a 429 with its Retry-After',
      { status: 429, retryAfter: '12', count: 1 },
      { status: 'retry', partnerStatus: 429, retryAfterSeconds: 12 },
    ],
    [
      'retries a 420 Enhance Your Calm',
      { status: 420, body: { error: true, reason: 'rate_limited', data: {} }, count: 1 },
      { status: 'retry', error: 'rate_limited', partnerStatus: 420 },
    ],
    [
      "fails a 400 with Crisp's reason",
      { status: 400, body: { error: true, reason: 'invalid_data', data: {} }, count: 1 },
      { status: 'failed', reason: 'invalid_data', partnerStatus: 400 },
    ],
    [
      'retries a partner that hangs past the timeout',
      { mode: 'hang' as const, count: 1 },
      { status: 'retry', error: 'network_error', summary: expect.stringContaining('timed out after 300 ms') },
      300,
    ],
  ])('%s', async (_, fault, expected, timeoutMs?: number) => {
    const { tenant, source } = await knownUser()
    await tenant.fault('crisp', fault)
    const context = crispContext(tenant, { source, ...(timeoutMs !== undefined && { timeoutMs }) })
    const outcomes = await deliver(items([track({ userId: 'u-1' })]), context)
    expect(outcomes[0]).toMatchObject(expected)
  })

  it('fails invalid_session with wrong credentials', async () => {
    const tenant = new SandboxTenant()
    const context = crispContext(tenant, { settings: { apiKey: 'wrong:credentials' } })
    const outcomes = await deliver(
      items([identify({ anonymousId: 'a', traits: { email: 'jo@example.com' } })]),
      context,
    )
    expect(outcomes[0]).toMatchObject({ status: 'failed', reason: 'invalid_session', partnerStatus: 401 })
  })

  it('returns one outcome per item, in order, for a mixed batch', async () => {
    const tenant = new SandboxTenant()
    const outcomes = await deliver(
      items([
        identify({ userId: 'u-1', traits: { email: 'jo@example.com' } }),
        identify({ userId: 'u-2', traits: {} }),
        track({ userId: 'u-1' }),
        segmentEvent('page', { userId: 'u-1' }),
        track({ anonymousId: 'a' }),
      ]),
      crispContext(tenant),
    )
    expect(
      outcomes.map((outcome) => (outcome.status === 'dropped' ? outcome.reason : outcome.status)),
    ).toEqual(['delivered', 'email_required', 'delivered', 'unsupported_call', 'unknown_user'])
  })
})
