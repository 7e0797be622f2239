import { describe, expect, it } from 'vitest'
import { BATCHED, OPEN, routerFetch, signHex, spyOnQueue, useSources, WEB } from '../helpers/router'

const CLOSED = { name: 'closed', writeKey: 'wk_closed_12345', destinations: {} }

useSources(WEB, BATCHED, OPEN, CLOSED)

/** An event as Segment's Webhooks destination sends it: already stamped by Segment. */
const processed = (messageId: string) => ({
  type: 'track',
  event: 'Order Completed',
  userId: 'u1',
  messageId,
  originalTimestamp: '2024-03-01T10:00:00.000Z',
  sentAt: '2024-03-01T10:00:01.000Z',
  receivedAt: '2024-03-01T10:00:03.000Z',
  timestamp: '2024-03-01T10:00:02.000Z',
})

function postWebhook(source: string, body: string, signature?: string) {
  return routerFetch(`/webhook/${source}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(signature && { 'X-Signature': signature }) },
    body,
  })
}

describe('signatures', () => {
  it('accepts an event signed over the raw body, keeping Segment times as sent', async () => {
    const queue = spyOnQueue()
    const body = JSON.stringify(processed('m-1'))
    const response = await postWebhook('web', body, signHex(WEB.webhookSecret, body))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ success: true, accepted: 1, rejected: [] })
    expect(queue.messages()[0]?.source).toBe('web')
    expect(queue.events()).toEqual([processed('m-1')])
  })

  it('hashes the raw bytes, not a re-serialisation', async () => {
    const event = processed('m-1')
    const pretty = JSON.stringify(event, null, 2)
    expect((await postWebhook('web', pretty, signHex(WEB.webhookSecret, pretty))).status).toBe(200)
    expect((await postWebhook('web', pretty, signHex(WEB.webhookSecret, JSON.stringify(event)))).status).toBe(
      401,
    )
  })

  it('answers 401 alike for a wrong signature, a missing one and an unknown source', async () => {
    const body = JSON.stringify(processed('m-1'))
    const wrong = await postWebhook('web', body, signHex('whsec_wrong_000', body))
    const missing = await postWebhook('web', body)
    const unknown = await postWebhook('nope', body, signHex(WEB.webhookSecret, body))
    expect([wrong.status, missing.status, unknown.status]).toEqual([401, 401, 401])
    const [a, b, c] = await Promise.all([wrong.json(), missing.json(), unknown.json()])
    expect(b).toEqual(a)
    expect(c).toEqual(a)
  })

  it('refuses webhooks for a source without a webhookSecret', async () => {
    const body = JSON.stringify(processed('m-1'))
    const response = await postWebhook('closed', body, signHex('anything', body))
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ message: expect.stringContaining('webhookSecret') })
  })

  it('accepts unsigned webhooks when the source sets allowUnsigned', async () => {
    const queue = spyOnQueue()
    expect((await postWebhook('open', JSON.stringify(processed('m-1')))).status).toBe(200)
    expect(queue.messages()[0]?.source).toBe('open')
  })
})

describe("Segment's batched form, signed over the first event only", () => {
  const events = [processed('m-1'), processed('m-2')]
  const body = JSON.stringify(events, null, 1)

  it('is accepted when the source sets acceptFirstEventSignature', async () => {
    const queue = spyOnQueue()
    const response = await postWebhook(
      'batched',
      body,
      signHex(BATCHED.webhookSecret, JSON.stringify(events[0])),
    )
    expect(await response.json()).toMatchObject({ accepted: 2 })
    expect(queue.events().map((event) => event.messageId)).toEqual(['m-1', 'm-2'])
  })

  it('is refused otherwise', async () => {
    const response = await postWebhook('web', body, signHex(WEB.webhookSecret, JSON.stringify(events[0])))
    expect(response.status).toBe(401)
  })

  it('is refused when the signature is over another first event', async () => {
    const response = await postWebhook(
      'batched',
      body,
      signHex(BATCHED.webhookSecret, JSON.stringify(events[1])),
    )
    expect(response.status).toBe(401)
  })
})

describe('events', () => {
  const send = (payload: unknown) => {
    const body = JSON.stringify(payload)
    return postWebhook('web', body, signHex(WEB.webhookSecret, body))
  }

  it('stamps receivedAt and timestamp only when Segment did not', async () => {
    const queue = spyOnQueue()
    const before = Date.now()
    const { receivedAt: _r, timestamp: _t, ...bare } = processed('m-1')
    expect((await send(bare)).status).toBe(200)
    const [event] = queue.events()
    expect(Date.parse(event?.receivedAt ?? '')).toBeGreaterThanOrEqual(before - 1000)
    // Skew-corrected from Segment's own originalTimestamp and sentAt: one second before receipt.
    expect(Date.parse(event?.receivedAt ?? '') - Date.parse(event?.timestamp ?? '')).toBe(1000)
  })

  it('rejects bad events of an array by index, with paths from the array', async () => {
    const queue = spyOnQueue()
    const { event: _, ...unnamed } = processed('m-2')
    const response = await send([processed('m-1'), unnamed])
    expect(await response.json()).toEqual({
      success: true,
      accepted: 1,
      rejected: [{ index: 1, messageId: 'm-2', issues: [{ path: '1.event', message: expect.any(String) }] }],
    })
    expect(queue.events()).toHaveLength(1)
  })

  it('answers 400 for a lone bad event, with paths from the event', async () => {
    const { event: _, ...unnamed } = processed('m-1')
    const response = await send(unnamed)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ issues: [{ path: 'event' }] })
  })

  it('skips deletion notifications with a rejected entry', async () => {
    const queue = spyOnQueue()
    const deletion = { type: 'delete', userId: 'u1', timestamp: '2024-03-01T10:00:00.000Z' }
    const response = await send([deletion, processed('m-1')])
    expect(await response.json()).toMatchObject({
      accepted: 1,
      rejected: [{ index: 0, issues: [{ path: '0', message: expect.stringContaining('deletion') }] }],
    })
    expect(queue.events().map((event) => event.messageId)).toEqual(['m-1'])
    expect((await send(deletion)).status).toBe(400)
  })

  it.each([
    ['an empty array', []],
    ['a number', 42],
  ])('answers 400 for %s', async (_, payload) => {
    expect((await send(payload)).status).toBe(400)
  })
})
