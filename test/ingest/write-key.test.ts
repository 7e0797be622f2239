import { beforeEach, describe, expect, it, vi } from 'vitest'
import { basicAuth, putConfig, routerFetch, spyOnQueue, WEB } from '../helpers/router'

const OTHER = { name: 'app', writeKey: 'wk_other_654321', destinations: {} }

beforeEach(async () => {
  vi.restoreAllMocks()
  await putConfig({ sources: [WEB, OTHER] })
})

const event = { type: 'track', userId: 'u1', event: 'Signed Up' }

function postBatch(body: Record<string, unknown>, authorization?: string) {
  return routerFetch('/v1/batch', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(authorization && { Authorization: authorization }) },
    body: JSON.stringify(body),
  })
}

describe('accepted write keys', () => {
  it('takes the Basic username with the trailing colon', async () => {
    const queue = spyOnQueue()
    expect((await postBatch({ batch: [event] }, basicAuth(WEB.writeKey))).status).toBe(200)
    expect(queue.messages()[0]?.source).toBe('web')
  })

  it('takes the Basic username without the colon', async () => {
    const queue = spyOnQueue()
    expect((await postBatch({ batch: [event] }, basicAuth(OTHER.writeKey, { colon: false }))).status).toBe(
      200,
    )
    expect(queue.messages()[0]?.source).toBe('app')
  })

  it('takes a Basic username that is not ASCII, sent as UTF-8', async () => {
    const key = 'wk_clé_ünïcode_1'
    await putConfig({ sources: [WEB, { name: 'intl', writeKey: key, destinations: {} }] })
    const utf8 = String.fromCharCode(...new TextEncoder().encode(`${key}:`))
    const queue = spyOnQueue()
    expect((await postBatch({ batch: [event] }, `Basic ${btoa(utf8)}`)).status).toBe(200)
    expect(queue.messages()[0]?.source).toBe('intl')
  })

  it('takes writeKey from the body, and does not queue it', async () => {
    const queue = spyOnQueue()
    const response = await postBatch({
      writeKey: WEB.writeKey,
      batch: [{ ...event, writeKey: WEB.writeKey }],
    })
    expect(response.status).toBe(200)
    expect(queue.messages()[0]?.source).toBe('web')
    expect(JSON.stringify(queue.messages())).not.toContain(WEB.writeKey)
  })

  it('takes writeKey from a single-event body, and does not queue it', async () => {
    const queue = spyOnQueue()
    const response = await routerFetch('/v1/t', {
      method: 'POST',
      body: JSON.stringify({ ...event, writeKey: OTHER.writeKey }),
    })
    expect(response.status).toBe(200)
    expect(queue.messages()[0]?.source).toBe('app')
    expect(queue.events()[0]).not.toHaveProperty('writeKey')
  })

  it('prefers the Basic header over the body key', async () => {
    const queue = spyOnQueue()
    const response = await postBatch({ writeKey: WEB.writeKey, batch: [event] }, basicAuth(OTHER.writeKey))
    expect(response.status).toBe(200)
    expect(queue.messages()[0]?.source).toBe('app')
  })

  it('ignores a Bearer token (OAuth) and uses the body key', async () => {
    const queue = spyOnQueue()
    const response = await postBatch({ writeKey: WEB.writeKey, batch: [event] }, 'Bearer some-oauth-token')
    expect(response.status).toBe(200)
    expect(queue.messages()[0]?.source).toBe('web')
  })
})

describe('refused write keys', () => {
  it.each([
    ['no key at all', {}, undefined],
    ['an unknown Basic key', {}, basicAuth('wk_unknown_000')],
    ['an unknown body key', { writeKey: 'wk_unknown_000' }, undefined],
    ['an unknown Basic key beside a known body key', { writeKey: WEB.writeKey }, basicAuth('wk_unknown_000')],
    ['a prefix of a known key', {}, basicAuth(WEB.writeKey.slice(0, -1))],
    ['an empty Basic username', {}, basicAuth('')],
    ['a non-string body key', { writeKey: 123456789 }, undefined],
  ])('401 for %s, queueing nothing', async (_, extra, authorization) => {
    const queue = spyOnQueue()
    const response = await postBatch({ ...extra, batch: [event] }, authorization)
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ success: false, error: 'invalid_write_key' })
    expect(queue.requests()).toEqual([])
  })

  it('refuses an unknown Basic key before reading the body', async () => {
    const queue = spyOnQueue()
    for (const body of ['{not json', JSON.stringify({ batch: [event], filler: 'x'.repeat(600 * 1024) })]) {
      const response = await routerFetch('/v1/batch', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: basicAuth('wk_unknown_000') },
        body,
      })
      // 401, not the 400 (bad JSON) or 413 (too large) that reading the body would give.
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ error: 'invalid_write_key' })
    }
    expect(queue.requests()).toEqual([])
  })
})
