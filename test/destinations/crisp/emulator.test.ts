import { describe, expect, it } from 'vitest'
import { SandboxTenant } from '../../helpers/sandbox'
import { CRISP_AUTH_HEADERS, crispPeopleUrl } from './fixtures'

/** Calls the Crisp emulator directly, as a client that gets things wrong would. */
async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers ?? CRISP_AUTH_HEADERS,
    ...(init.body !== undefined && {
      body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    }),
  })
  return { status: response.status, body: await response.json() }
}

const INVALID_SESSION = { status: 401, body: { error: true, reason: 'invalid_session', data: {} } }

async function withPerson(email = 'jo@example.com') {
  const tenant = new SandboxTenant()
  const created = await call(crispPeopleUrl(tenant, 'profile'), {
    method: 'POST',
    body: { email, person: { nickname: 'Jo' } },
  })
  expect(created).toMatchObject({ status: 201, body: { error: false, reason: 'added' } })
  return { tenant, peopleId: (created.body as { data: { people_id: string } }).data.people_id }
}

describe('Crisp emulator: auth', () => {
  it('refuses a missing, wrong or non-Basic Authorization with invalid_session', async () => {
    const tenant = new SandboxTenant()
    const url = crispPeopleUrl(tenant, 'profile/jo@example.com')
    const { authorization: _auth, ...noAuth } = CRISP_AUTH_HEADERS
    expect(await call(url, { headers: noAuth })).toEqual(INVALID_SESSION)
    expect(
      await call(url, { headers: { ...CRISP_AUTH_HEADERS, authorization: `Basic ${btoa('x:y')}` } }),
    ).toEqual(INVALID_SESSION)
    expect(
      await call(url, { headers: { ...CRISP_AUTH_HEADERS, authorization: 'Bearer sandbox-crisp-key' } }),
    ).toEqual(INVALID_SESSION)
  })

  it('refuses a missing or unknown X-Crisp-Tier', async () => {
    const tenant = new SandboxTenant()
    const url = crispPeopleUrl(tenant, 'profile/jo@example.com')
    const { 'x-crisp-tier': _tier, ...noTier } = CRISP_AUTH_HEADERS
    expect(await call(url, { headers: noTier })).toEqual(INVALID_SESSION)
    expect(await call(url, { headers: { ...CRISP_AUTH_HEADERS, 'x-crisp-tier': 'admin' } })).toEqual(
      INVALID_SESSION,
    )
  })

  it('refuses another website id', async () => {
    const tenant = new SandboxTenant()
    expect(await call(crispPeopleUrl(tenant, 'profile/jo@example.com', 'other-website'))).toEqual({
      status: 403,
      body: { error: true, reason: 'not_allowed', data: {} },
    })
  })

  it('answers 404 not_found on unknown routes and methods', async () => {
    const tenant = new SandboxTenant()
    expect(await call(crispPeopleUrl(tenant, 'contacts'), { method: 'POST', body: {} })).toEqual({
      status: 404,
      body: { error: true, reason: 'not_found', data: {} },
    })
    expect(
      (await call(crispPeopleUrl(tenant, 'events/jo@example.com'), { method: 'PATCH', body: {} })).status,
    ).toBe(404)
  })
})

describe('Crisp emulator: profiles', () => {
  it('requires a valid email and a nickname to add a profile', async () => {
    const tenant = new SandboxTenant()
    const url = crispPeopleUrl(tenant, 'profile')
    for (const body of [
      { email: 'jo@example.com' },
      { email: 'jo@example.com', person: { nickname: '' } },
      { email: 'not-an-email', person: { nickname: 'Jo' } },
      { person: { nickname: 'Jo' } },
      { email: 'jo@example.com', person: { nickname: 'Jo' }, data: { plan: 'pro' } },
      { email: 'jo@example.com', person: { nickname: 'Jo', name: 'Jo' } },
      { email: 'jo@example.com', person: { nickname: 'Jo', phone: 33123 } },
    ]) {
      expect(await call(url, { method: 'POST', body }), JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { error: true, reason: 'invalid_data' },
      })
    }
    expect((await call(url, { method: 'POST', body: 'not json' })).status).toBe(400)
  })

  it('refuses an email that already exists with people_exists', async () => {
    const { tenant } = await withPerson()
    expect(
      await call(crispPeopleUrl(tenant, 'profile'), {
        method: 'POST',
        body: { email: 'JO@example.com', person: { nickname: 'Other' } },
      }),
    ).toEqual({ status: 409, body: { error: true, reason: 'people_exists', data: {} } })
  })

  it('resolves a profile by email or people_id, and 404s people_not_found otherwise', async () => {
    const { tenant, peopleId } = await withPerson()
    expect(await call(crispPeopleUrl(tenant, 'profile/jo%40example.com'))).toMatchObject({
      status: 200,
      body: { error: false, reason: 'resolved', data: { people_id: peopleId, email: 'jo@example.com' } },
    })
    expect((await call(crispPeopleUrl(tenant, `profile/${peopleId}`))).status).toBe(200)
    expect(await call(crispPeopleUrl(tenant, 'profile/nobody%40example.com'))).toEqual({
      status: 404,
      body: { error: true, reason: 'people_not_found', data: {} },
    })
    expect(
      (
        await call(crispPeopleUrl(tenant, 'profile/nobody%40example.com'), {
          method: 'PATCH',
          body: { person: {} },
        })
      ).status,
    ).toBe(404)
  })
})

describe('Crisp emulator: people data and events', () => {
  it('accepts only flat string/number/boolean data under [A-Za-z0-9_] keys', async () => {
    const { tenant } = await withPerson()
    const url = crispPeopleUrl(tenant, 'data/jo%40example.com')
    for (const body of [
      { data: { address: { city: 'Paris' } } },
      { data: { tags: ['a'] } },
      { data: { 'plan name': 'pro' } },
      { data: { 'plan.name': 'pro' } },
      { data: { plan: null } },
      { plan: 'pro' },
      { data: { plan: 'pro' }, extra: 1 },
    ]) {
      expect(await call(url, { method: 'PATCH', body }), JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { error: true, reason: 'invalid_data' },
      })
    }
    expect(
      await call(url, { method: 'PATCH', body: { data: { plan: 'pro', seats: 3, AppVersion_2: true } } }),
    ).toEqual({
      status: 200,
      body: { error: false, reason: 'updated', data: {} },
    })
    expect(
      (
        await call(crispPeopleUrl(tenant, 'data/nobody%40example.com'), {
          method: 'PATCH',
          body: { data: {} },
        })
      ).status,
    ).toBe(404)
  })

  it('requires text on events, a flat data object and a known colour', async () => {
    const { tenant } = await withPerson()
    const url = crispPeopleUrl(tenant, 'events/jo%40example.com')
    for (const body of [
      {},
      { text: '' },
      { text: 42 },
      { text: 'E', data: { nested: { a: 1 } } },
      { text: 'E', data: { 'bad key': 1 } },
      { text: 'E', color: 'magenta' },
      { text: 'E', properties: {} },
    ]) {
      expect(await call(url, { method: 'POST', body }), JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { error: true, reason: 'invalid_data' },
      })
    }
    expect(
      await call(url, { method: 'POST', body: { text: 'Signed Up', data: { plan: 'pro' }, color: 'green' } }),
    ).toEqual({ status: 201, body: { error: false, reason: 'added', data: {} } })
    expect(
      (
        await call(crispPeopleUrl(tenant, 'events/nobody%40example.com'), {
          method: 'POST',
          body: { text: 'E' },
        })
      ).status,
    ).toBe(404)
    const listed = await call(crispPeopleUrl(tenant, 'events/jo%40example.com/list/1'))
    expect(listed.body).toMatchObject({
      data: [{ text: 'Signed Up', data: { plan: 'pro' }, color: 'green' }],
    })
  })
})
