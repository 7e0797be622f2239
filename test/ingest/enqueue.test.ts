import { env } from 'cloudflare:workers'
import { expect, it, vi } from 'vitest'
import { postJsonAsWeb, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

const post = (body: unknown) => postJsonAsWeb('/v1/batch', body)

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength

/** 15 events of ~31 KB, each with a character V8 can only store as UTF-16, which doubles its v8-serialised size. */
const bigBatch = {
  sentAt: '2024-01-01T00:00:00Z',
  batch: Array.from({ length: 15 }, (_, i) => ({
    type: 'track',
    userId: 'u',
    event: `E${i}`,
    properties: { text: `✓${'x'.repeat(31_000)}` },
  })),
}

it('packs events into messages under 120,000 bytes, sent in calls of at most 250,000 bytes', async () => {
  const queue = spyOnQueue()
  expect((await post(bigBatch)).status).toBe(200)
  const calls = queue.requests()
  expect(calls.length).toBeGreaterThan(1)
  for (const call of calls) {
    expect(call.length).toBeLessThanOrEqual(100)
    expect(call.reduce((sum, request) => sum + bytes(request.body), 0)).toBeLessThanOrEqual(250_000)
    for (const request of call) {
      expect(request.contentType).toBe('json')
      expect(bytes(request.body)).toBeLessThanOrEqual(120_000)
    }
  }
  expect(queue.messages().length).toBeLessThan(15) // several events per message
  expect(queue.events().map((event) => event.event)).toEqual(bigBatch.batch.map((item) => item.event))
  expect(new Set(queue.messages().map((message) => message.ingestId)).size).toBe(1)
})

it('gives each request its own ingestId', async () => {
  const queue = spyOnQueue()
  const body = { batch: [{ type: 'track', userId: 'u', event: 'E' }] }
  await post(body)
  await post(body)
  const [first, second] = queue.messages()
  expect(first?.ingestId).toMatch(/^[0-9a-f-]{36}$/)
  expect(second?.ingestId).not.toBe(first?.ingestId)
})

it('answers only once the queue has taken the events', async () => {
  let taken = false
  vi.spyOn(env.DELIVERY_QUEUE, 'sendBatch').mockImplementation(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50))
    taken = true
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } }
  })
  const response = await post({ batch: [{ type: 'track', userId: 'u', event: 'E' }] })
  expect(taken).toBe(true)
  expect(response.status).toBe(200)
})

it('answers 503 with Retry-After when the queue refuses, and the retry fills the same messageIds', async () => {
  const queue = spyOnQueue()
  // The first call goes through, the second fails: part of the request is already queued.
  queue.spy.mockImplementationOnce(async () => ({
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
  }))
  queue.spy.mockRejectedValueOnce(new Error('Queue is overloaded'))
  const refused = await post(bigBatch)
  expect(refused.status).toBe(503)
  expect(refused.headers.get('Retry-After')).toBe('5')
  expect(await refused.json()).toMatchObject({ success: false, error: 'queue_unavailable' })
  const firstAttempt = queue.events().map((event) => event.messageId)

  queue.spy.mockClear()
  expect((await post(bigBatch)).status).toBe(200)
  const retry = queue.events().map((event) => event.messageId)
  expect(retry.slice(0, firstAttempt.length)).toEqual(firstAttempt)
})
