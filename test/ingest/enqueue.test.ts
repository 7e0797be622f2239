import { expect, it } from 'vitest'
import { postJsonAsWeb, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

const post = (body: unknown) => postJsonAsWeb('/v1/batch', body)

/** UTF-8 bytes of a queued body: the JSON text the queue counts. */
const bytes = (body: unknown) => new TextEncoder().encode(body as string).byteLength

const track = (i: number, properties: Record<string, unknown> = {}) => ({
  type: 'track',
  userId: 'u',
  event: `E${i}`,
  properties,
})

/** 15 events of ~31 KB, each with a character outside Latin-1 (3 bytes in UTF-8, UTF-16 in V8). */
const bigBatch = {
  sentAt: '2024-01-01T00:00:00Z',
  batch: Array.from({ length: 15 }, (_, i) => track(i, { text: `✓${'x'.repeat(31_000)}` })),
}

/** 20 ordinary events: one message. */
const smallBatch = { batch: Array.from({ length: 20 }, (_, i) => track(i, { product_id: `sku-${i}` })) }

const accepted = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } }

it('sends a request that fits in one message as one `send` of its JSON text', async () => {
  const queue = spyOnQueue()
  expect((await post(smallBatch)).status).toBe(200)
  expect(queue.sendBatch).not.toHaveBeenCalled()
  expect(queue.send).toHaveBeenCalledTimes(1)
  const [[request]] = queue.requests() as [[{ body: unknown; contentType?: string }]]
  expect(request.contentType).toBe('text')
  expect(bytes(request.body)).toBeLessThanOrEqual(120_000)
  const [message] = queue.messages()
  expect(message).toMatchObject({ source: 'web', ingestId: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) })
  expect(message?.events.map((event) => event.event)).toEqual(smallBatch.batch.map((item) => item.event))
})

it('packs events into messages under 120,000 bytes, sent in calls of at most 250,000 bytes', async () => {
  const queue = spyOnQueue()
  expect((await post(bigBatch)).status).toBe(200)
  expect(queue.send).not.toHaveBeenCalled()
  const calls = queue.requests()
  expect(calls.length).toBeGreaterThan(1)
  for (const call of calls) {
    expect(call.length).toBeLessThanOrEqual(100)
    expect(call.reduce((sum, request) => sum + bytes(request.body), 0)).toBeLessThanOrEqual(250_000)
    for (const request of call) {
      expect(request.contentType).toBe('text')
      expect(bytes(request.body)).toBeLessThanOrEqual(120_000)
    }
  }
  expect(queue.messages().length).toBeLessThan(15) // several events per message
  expect(queue.events().map((event) => event.event)).toEqual(bigBatch.batch.map((item) => item.event))
  expect(new Set(queue.messages().map((message) => message.ingestId)).size).toBe(1)
})

it('splits a request just over one message into two, in one call', async () => {
  const queue = spyOnQueue()
  // Four ASCII events of ~31 KB: ~124 KB in all, more than one message holds.
  const body = { batch: Array.from({ length: 4 }, (_, i) => track(i, { text: 'x'.repeat(31_000) })) }
  expect((await post(body)).status).toBe(200)
  expect(queue.send).not.toHaveBeenCalled()
  expect(queue.sendBatch).toHaveBeenCalledTimes(1)
  const messages = queue.messages()
  expect(messages).toHaveLength(2)
  for (const [request] of queue.requests()) expect(bytes(request?.body)).toBeLessThanOrEqual(120_000)
  expect(messages.flatMap((message) => message.events.map((event) => event.event))).toEqual([
    'E0',
    'E1',
    'E2',
    'E3',
  ])
})

it('gives each request its own ingestId', async () => {
  const queue = spyOnQueue()
  const body = { batch: [{ type: 'track', userId: 'u', event: 'E' }] }
  await post(body)
  await post(body)
  const [first, second] = queue.messages()
  expect(first?.ingestId).toMatch(/^[A-Za-z0-9_-]{16}$/)
  expect(second?.ingestId).not.toBe(first?.ingestId)
})

it.each([
  ['one message (send)', smallBatch, 'send'],
  ['several messages (sendBatch)', bigBatch, 'sendBatch'],
] as const)('answers only once the queue has taken the events: %s', async (_, body, method) => {
  const queue = spyOnQueue()
  let pending = 0
  let taken = 0
  queue[method].mockImplementation(async () => {
    pending += 1
    await new Promise((resolve) => setTimeout(resolve, 50))
    pending -= 1
    taken += 1
    return accepted
  })
  const response = await post(body)
  expect(response.status).toBe(200)
  expect(pending).toBe(0)
  expect(taken).toBe(queue[method].mock.calls.length)
  expect(taken).toBeGreaterThan(0)
})

it('answers 503 with Retry-After when the queue refuses a one-message request, and the retry carries the same messageIds', async () => {
  const queue = spyOnQueue()
  queue.send.mockRejectedValueOnce(new Error('Queue is overloaded'))
  const refused = await post(smallBatch)
  expect(refused.status).toBe(503)
  expect(refused.headers.get('Retry-After')).toBe('5')
  expect(await refused.json()).toMatchObject({ success: false, error: 'queue_unavailable' })
  expect((await post(smallBatch)).status).toBe(200)
  const [first, retry] = queue.messages()
  expect(retry?.events.map((event) => event.messageId)).toEqual(first?.events.map((event) => event.messageId))
})

it('answers 503 with Retry-After when the queue refuses partway, and the retry fills the same messageIds', async () => {
  const queue = spyOnQueue()
  // The first call goes through, the second fails: part of the request is already queued.
  queue.sendBatch.mockImplementationOnce(async () => accepted)
  queue.sendBatch.mockRejectedValueOnce(new Error('Queue is overloaded'))
  const refused = await post(bigBatch)
  expect(refused.status).toBe(503)
  expect(refused.headers.get('Retry-After')).toBe('5')
  expect(await refused.json()).toMatchObject({ success: false, error: 'queue_unavailable' })
  const firstAttempt = queue.events().map((event) => event.messageId)

  queue.sendBatch.mockClear()
  expect((await post(bigBatch)).status).toBe(200)
  const retry = queue.events().map((event) => event.messageId)
  expect(retry.slice(0, firstAttempt.length)).toEqual(firstAttempt)
})
