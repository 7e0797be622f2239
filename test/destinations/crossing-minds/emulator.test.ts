import { beforeEach, describe, expect, it } from 'vitest'
import { SANDBOX_CREDENTIALS } from '../../../sandbox/credentials'
import { SandboxTenant } from '../../helpers/sandbox'

const creds = SANDBOX_CREDENTIALS.crossingMinds
let tenant: SandboxTenant

beforeEach(() => {
  tenant = new SandboxTenant()
})

interface Answer {
  status: number
  body: Record<string, unknown>
}

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json'
  const response = await fetch(`${tenant.apiBase('crossingminds')}${path}`, {
    method,
    headers,
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function login(): Promise<{ token: string; refresh_token: string }> {
  const answer = await call('POST', '/v1/login/service/', {
    body: { name: creds.name, password: creds.password, db_id: creds.dbId },
  })
  expect(answer.status).toBe(200)
  return answer.body as { token: string; refresh_token: string }
}

async function declare(
  token: string,
  property_name: string,
  value_type: string,
  repeated = false,
): Promise<Answer> {
  return call('POST', '/v1/users-properties/', { token, body: { property_name, value_type, repeated } })
}

describe('Crossing Minds emulator strictness', () => {
  it('answers a wrong login with 401 AuthError (code 21) and a good one with a JWT and the database', async () => {
    const wrong = await call('POST', '/v1/login/service/', {
      body: { name: creds.name, password: 'nope', db_id: creds.dbId },
    })
    expect(wrong).toMatchObject({ status: 401, body: { error_code: 21, error_name: 'AuthError' } })
    const good = await call('POST', '/v1/login/service/', {
      body: { name: creds.name, password: creds.password, db_id: creds.dbId },
    })
    expect(good.body).toMatchObject({
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      refresh_token: expect.any(String),
      database: { id: creds.dbId, user_id_type: expect.any(String), item_id_type: expect.any(String) },
    })
  })

  it('requires a Bearer JWT on data routes', async () => {
    expect(await call('GET', '/v1/users-properties/')).toMatchObject({
      status: 401,
      body: { error_code: 21 },
    })
    expect(await call('GET', '/v1/users-properties/', { token: 'made.up.token' })).toMatchObject({
      status: 401,
      body: { error_code: 21 },
    })
  })

  it('needs the trailing slash: a path without it is an unknown route', async () => {
    const { token } = await login()
    expect(await call('GET', '/v1/users-properties', { token })).toMatchObject({
      status: 404,
      body: { error_code: 60, error_name: 'NotFoundError' },
    })
    expect(await call('POST', '/v1/login/service', { body: { name: creds.name } })).toMatchObject({
      status: 404,
    })
  })

  it('answers an expired JWT with code 22 and an expired refresh token with code 28; refresh tokens rotate', async () => {
    const first = await login()
    const refreshed = await call('POST', '/v1/login/refresh-token/', {
      body: { refresh_token: first.refresh_token },
    })
    expect(refreshed.status).toBe(200)
    const spent = await call('POST', '/v1/login/refresh-token/', {
      body: { refresh_token: first.refresh_token },
    })
    expect(spent).toMatchObject({ status: 401, body: { error_code: 21 } })

    await tenant.control('crossingminds', 'expire-tokens')
    expect(await call('GET', '/v1/users-properties/', { token: first.token })).toEqual({
      status: 401,
      body: {
        error_code: 22,
        error_name: 'JwtTokenExpired',
        message: 'The JWT token has expired',
        error_data: { name: 'JWT_TOKEN_EXPIRED' },
      },
    })
    await tenant.control('crossingminds', 'expire-refresh-tokens')
    const dead = await call('POST', '/v1/login/refresh-token/', {
      body: { refresh_token: (refreshed.body as { refresh_token: string }).refresh_token },
    })
    expect(dead).toMatchObject({ status: 401, body: { error_code: 28, error_name: 'RefreshTokenExpired' } })
  })

  it('refuses non-JSON bodies', async () => {
    const { token } = await login()
    const answer = await call('POST', '/v1/users-properties/', {
      token,
      body: { property_name: 'plan', value_type: 'unicode' },
      contentType: 'text/plain',
    })
    expect(answer).toMatchObject({ status: 400, body: { error_code: 40, error_name: 'WrongData' } })
  })

  it('validates property declarations and refuses duplicates (case-insensitive) with code 42', async () => {
    const { token } = await login()
    expect((await declare(token, 'plan', 'unicode')).status).toBe(201)
    expect(await declare(token, 'PLAN', 'unicode')).toMatchObject({
      status: 400,
      body: {
        error_code: 42,
        error_name: 'DuplicatedError',
        error_data: { name: 'DUPLICATED_USER_PROPERTY' },
      },
    })
    for (const [name, type] of [
      ['user_id', 'unicode'],
      ['has space', 'unicode'],
      ['x'.repeat(65), 'unicode'],
      ['ok', 'string'],
      ['ok', 'unicode256'],
    ] as const)
      expect(await declare(token, name, type), `${name} ${type}`).toMatchObject({
        status: 400,
        body: { error_code: 40 },
      })
  })

  it('refuses undeclared properties and values of the wrong type on PATCH', async () => {
    const { token } = await login()
    await declare(token, 'vip', 'bool')
    await declare(token, 'tags', 'unicode', true)
    const patch = (user: Record<string, unknown>) =>
      call('PATCH', '/v1/users/u1/properties/', { token, body: { user, create_if_missing: true } })
    expect(await patch({ plan: 'pro' })).toMatchObject({
      status: 400,
      body: { error_code: 40, error_name: 'WrongData', error_data: { name: 'WRONG_DATA_TYPE' } },
    })
    expect(await patch({ vip: 'yes' })).toMatchObject({ status: 400, body: { error_code: 40 } })
    expect(await patch({ tags: 'a' })).toMatchObject({ status: 400, body: { error_code: 40 } })
    expect(await patch({ vip: true, tags: ['a'] })).toMatchObject({
      status: 200,
      body: { user_created: true },
    })
    const missing = await call('PATCH', '/v1/users/u2/properties/', { token, body: { user: { vip: true } } })
    expect(missing).toMatchObject({ status: 404, body: { error_code: 60 } })
  })

  it('checks every row of a bulk user write before writing any', async () => {
    const { token } = await login()
    await declare(token, 'vip', 'bool')
    const bulk = (users: unknown, extra: Record<string, unknown> = {}) =>
      call('PATCH', '/v1/users-bulk/properties/', {
        token,
        body: { users, create_if_missing: true, ...extra },
      })
    for (const bad of [
      [],
      'u1',
      [{ vip: true }],
      [{ user_id: 'u1', plan: 'pro' }],
      [{ user_id: 'u1', vip: 1 }],
    ])
      expect(await bulk(bad), JSON.stringify(bad)).toMatchObject({ status: 400, body: { error_code: 40 } })
    expect(await bulk([{ user_id: 'u1', vip: true }], { wait_for_completion: true })).toMatchObject({
      status: 400,
    })
    expect(
      await bulk([
        { user_id: 'u1', vip: true },
        { user_id: 'x'.repeat(65), vip: false },
      ]),
    ).toMatchObject({
      status: 400,
      body: { error_data: { error: expect.stringContaining('users[1]') } },
    })
    expect((await call('GET', '/v1/users/u1/properties/', { token })).status).toBe(404)

    expect(
      (
        await bulk([
          { user_id: 'u1', vip: true },
          { user_id: 'u2', vip: false },
        ])
      ).status,
    ).toBe(200)
    expect((await bulk([{ user_id: 'u1', vip: false }])).status).toBe(200)
    expect(await call('GET', '/v1/users/u1/properties/', { token })).toMatchObject({
      body: { user: { user_id: 'u1', vip: false } },
    })
    expect(await call('GET', '/v1/users/u2/properties/', { token })).toMatchObject({
      body: { user: { user_id: 'u2', vip: false } },
    })
  })

  it('validates interaction rows', async () => {
    const { token } = await login()
    const row = { item_id: 'i1', interaction_type: 'Product Viewed', timestamp: 1714557600 }
    const bulk = (path: string, interactions: unknown[]) =>
      call('POST', path, { token, body: { interactions } })
    expect((await bulk('/v1/users/u1/interactions-bulk/', [row])).status).toBe(201)
    for (const bad of [
      { interaction_type: 'x', timestamp: 1 },
      { item_id: 'i1', timestamp: 1 },
      { item_id: 'i1', interaction_type: 'x', timestamp: '2024-05-01T10:00:00Z' },
      { item_id: 'i1', interaction_type: 'x' },
      { ...row, user_id: 'u1' },
    ])
      expect(await bulk('/v1/users/u1/interactions-bulk/', [bad]), JSON.stringify(bad)).toMatchObject({
        status: 400,
        body: { error_code: 40 },
      })
    expect((await bulk('/v1/users/u1/interactions-bulk/', [])).status).toBe(400)
    expect((await bulk('/v1/interactions-bulk/', [row])).status).toBe(400) // needs user_id per row
    expect((await bulk('/v1/interactions-bulk/', [{ ...row, user_id: 'u1' }])).status).toBe(201)
    expect((await bulk('/v1/sessions-interactions-bulk/', [{ ...row, session_id: 's1' }])).status).toBe(201)
    const single = await call('POST', '/v1/users/u1/interactions/i1/', {
      token,
      body: { interaction_type: 'like' },
    })
    expect(single.status).toBe(201)
  })
})
