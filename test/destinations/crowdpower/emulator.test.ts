import { describe, expect, it } from 'vitest'
import { SandboxTenant } from '../../helpers/sandbox'
import { CROWDPOWER_PUBLIC_KEY } from './fixtures'

const HEADERS = { authorization: `Bearer ${CROWDPOWER_PUBLIC_KEY}`, 'content-type': 'application/json' }
const OK = { status: 200, body: { success: true, code: 200, data: null } }

async function post(
  tenant: SandboxTenant,
  path: string,
  body: unknown,
  headers: Record<string, string> = HEADERS,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${tenant.apiBase('crowdpower')}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: response.status, body: await response.json() }
}

describe('CrowdPower emulator: auth and routes', () => {
  it('refuses a missing or wrong key with its 401 body', async () => {
    const tenant = new SandboxTenant()
    const customer = { user_id: 'u-1' }
    const wrongAuth: Record<string, string>[] = [
      {},
      { authorization: 'Bearer pk_other' },
      { authorization: `Basic ${btoa(`${CROWDPOWER_PUBLIC_KEY}:`)}` },
    ]
    for (const headers of wrongAuth) {
      expect(await post(tenant, '/customers', customer, headers)).toMatchObject({
        status: 401,
        body: { success: false, code: 401 },
      })
    }
  })

  it('accepts the key as the api_key request parameter', async () => {
    const tenant = new SandboxTenant()
    expect(await post(tenant, `/customers?api_key=${CROWDPOWER_PUBLIC_KEY}`, { user_id: 'u-1' }, {})).toEqual(
      OK,
    )
  })

  it('answers 404 on unknown routes and methods', async () => {
    const tenant = new SandboxTenant()
    expect(await post(tenant, '/identify', { user_id: 'u-1' })).toMatchObject({
      status: 404,
      body: { success: false },
    })
    const get = await fetch(`${tenant.apiBase('crowdpower')}/customers`, { headers: HEADERS })
    expect(get.status).toBe(404)
  })
})

describe('CrowdPower emulator: bodies', () => {
  it('requires user_id or a valid email, and knows only the documented customer fields', async () => {
    const tenant = new SandboxTenant()
    for (const body of [
      { name: 'Jo' },
      { user_id: 42 },
      { email: 'not-an-email' },
      { user_id: 'u-1', signed_up_at: '2024-05-01T10:00:00Z' },
      { user_id: 'u-1', signed_up_at: 1714557600.5 },
      { user_id: 'u-1', traits: { plan: 'pro' } },
      { user_id: 'u-1', custom_attributes: { trial_ends_at: '2024-05-01' } },
    ]) {
      expect(await post(tenant, '/customers', body), JSON.stringify(body)).toMatchObject({
        status: 422,
        body: { success: false, code: 422 },
      })
    }
    expect(
      await post(tenant, '/customers', { email: 'jo@example.com', custom_attributes: { plan: 'pro' } }),
    ).toEqual(OK)
  })

  it('refuses keys that are not snake_case with 400', async () => {
    const tenant = new SandboxTenant()
    expect(
      await post(tenant, '/customers', { user_id: 'u-1', custom_attributes: { planName: 'pro' } }),
    ).toMatchObject({
      status: 400,
      body: { success: false, code: 400 },
    })
    expect(
      await post(tenant, '/events', {
        user_id: 'u-1',
        action: 'A',
        properties: { address: { postalCode: '1' } },
      }),
    ).toMatchObject({ status: 400 })
    expect(
      await post(tenant, '/events', { user_id: 'u-1', action: 'A', properties: { 'Plan Name': 'x' } }),
    ).toMatchObject({ status: 400 })
  })

  it('requires an action on events and integer timestamps', async () => {
    const tenant = new SandboxTenant()
    expect((await post(tenant, '/events', { user_id: 'u-1' })).status).toBe(422)
    expect((await post(tenant, '/events', { user_id: 'u-1', action: '' })).status).toBe(422)
    expect(
      (await post(tenant, '/events', { user_id: 'u-1', action: 'A', created_at: '1714557600' })).status,
    ).toBe(422)
    expect((await post(tenant, '/events', { user_id: 'u-1', event: 'A' })).status).toBe(422)
    expect(
      await post(tenant, '/events', { user_id: 'u-1', action: 'A', properties: { a_b: 1 }, created_at: 1 }),
    ).toEqual(OK)
  })

  it('requires an integer amount ≥ 0 in the smallest currency unit on charges', async () => {
    const tenant = new SandboxTenant()
    for (const amount of [12.5, -1, '1200', undefined]) {
      expect((await post(tenant, '/charges', { user_id: 'u-1', amount })).status, String(amount)).toBe(422)
    }
    expect((await post(tenant, '/charges', { user_id: 'u-1', amount: 1200, action: 'Order' })).status).toBe(
      422,
    )
    expect(await post(tenant, '/charges', { user_id: 'u-1', amount: 1200, created_at: 1714557600 })).toEqual(
      OK,
    )
  })

  it('validates every entry of a bulk request, its shape and its size', async () => {
    const tenant = new SandboxTenant()
    expect((await post(tenant, '/customers/bulk', [{ user_id: 'u-1' }])).status).toBe(400)
    expect((await post(tenant, '/customers/bulk', { customers: [] })).status).toBe(422)
    expect(
      (await post(tenant, '/customers/bulk', { customers: [{ user_id: 'u-1' }, { name: 'x' }] })).status,
    ).toBe(422)
    expect((await post(tenant, '/events/bulk', { events: [{ action: 'A' }] })).status).toBe(422)
    expect(
      (await post(tenant, '/events/bulk', { user_id: 'u-1', events: [{ action: 'A', user_id: 'u-2' }] }))
        .status,
    ).toBe(422)
    expect((await post(tenant, '/charges/bulk', { user_id: 'u-1', charges: [{ amount: 1.5 }] })).status).toBe(
      422,
    )
    const tooMany = Array.from({ length: 101 }, () => ({ action: 'A' }))
    expect((await post(tenant, '/events/bulk', { user_id: 'u-1', events: tooMany })).status).toBe(422)
    expect(
      await post(tenant, '/events/bulk', {
        email: 'jo@example.com',
        events: [{ action: 'A' }, { action: 'B' }],
      }),
    ).toEqual(OK)
  })

  it('refuses a body that is not a JSON object with 400', async () => {
    const tenant = new SandboxTenant()
    expect(await post(tenant, '/customers', 'user_id=u-1')).toMatchObject({
      status: 400,
      body: { success: false },
    })
  })
})
