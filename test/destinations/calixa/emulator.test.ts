import { beforeEach, describe, expect, it } from 'vitest'
import { SandboxTenant } from '../../helpers/sandbox'
import { CALIXA_KEY, calixaEndpoint, calixaState } from './fixtures'

let tenant: SandboxTenant

beforeEach(() => {
  tenant = new SandboxTenant()
})

const GOOD_HEADERS = {
  authorization: `Basic ${btoa(`${CALIXA_KEY}:`)}`,
  'x-segment-settings': btoa('{}'),
  'user-agent': 'Segment.io/1.0',
  'content-type': 'application/json',
}

const IDENTIFY = { type: 'identify', userId: 'u1', messageId: 'm1', traits: { email: 'a@b.co' } }

async function post(
  body: unknown,
  headers: Record<string, string | undefined> = {},
  url = calixaEndpoint(tenant),
): Promise<{ status: number; body: unknown }> {
  const merged = Object.fromEntries(
    Object.entries({ ...GOOD_HEADERS, ...headers }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  )
  const response = await fetch(url, { method: 'POST', headers: merged, body: JSON.stringify(body) })
  return { status: response.status, body: await response.json() }
}

describe('Calixa emulator strictness', () => {
  it('accepts a well-formed identify', async () => {
    expect(await post(IDENTIFY)).toEqual({ status: 200, body: { message: 'ok' } })
    expect((await calixaState(tenant)).accepted).toHaveLength(1)
  })

  it('refuses a wrong key, or the key without its colon, with 401', async () => {
    expect(await post(IDENTIFY, { authorization: `Basic ${btoa('other:')}` })).toEqual({
      status: 401,
      body: { message: 'invalid api key' },
    })
    expect((await post(IDENTIFY, { authorization: `Basic ${btoa(CALIXA_KEY)}` })).status).toBe(401)
    expect((await post(IDENTIFY, { authorization: undefined })).status).toBe(401)
  })

  it('needs X-Segment-Settings as base64 JSON and a Segment User-Agent', async () => {
    expect((await post(IDENTIFY, { 'x-segment-settings': undefined })).status).toBe(400)
    expect((await post(IDENTIFY, { 'x-segment-settings': 'not base64 json!' })).status).toBe(400)
    expect((await post(IDENTIFY, { 'x-segment-settings': btoa('[1]') })).status).toBe(400)
    expect(await post(IDENTIFY, { 'user-agent': 'curl/8.0' })).toMatchObject({ status: 403 })
    expect((await calixaState(tenant)).accepted).toEqual([])
  })

  it('needs a Segment message with type and messageId', async () => {
    expect((await post({ userId: 'u1', messageId: 'm' })).status).toBe(400)
    expect((await post({ type: 'identify', userId: 'u1' })).status).toBe(400)
    expect((await post({ type: 'identify', messageId: 'm' })).status).toBe(400) // no userId
    expect((await post({ type: 'group', userId: 'u1', messageId: 'm' })).status).toBe(400) // no groupId
  })

  it('answers 501 for call types Calixa does not support', async () => {
    for (const type of ['page', 'screen', 'alias'])
      expect(await post({ type, userId: 'u1', previousId: 'p', messageId: `m-${type}` }), type).toMatchObject(
        {
          status: 501,
          body: { message: `${type} calls are not supported` },
        },
      )
  })

  it('answers 400 with a message for a B2B track without context.groupId', async () => {
    expect(
      await post({ type: 'track', event: 'Account Created', userId: 'u1', messageId: 'm', properties: {} }),
    ).toEqual({ status: 400, body: { message: 'Account Created requires context.groupId' } })
    expect(
      (await post({ type: 'track', event: 'Signed Up', userId: 'u1', messageId: 'm2', properties: {} }))
        .status,
    ).toBe(200)
  })

  it('serves only the webhook route', async () => {
    expect((await post(IDENTIFY, {}, `${tenant.apiBase('calixa')}/segment`)).status).toBe(404)
  })
})
