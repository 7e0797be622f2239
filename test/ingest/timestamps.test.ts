import { expect, it, vi } from 'vitest'
import { postJsonAsWeb, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

const post = (path: string, body: unknown) => postJsonAsWeb(path, body)

/** Sends one batch item and returns the event as queued. */
async function queuedFromBatch(item: Record<string, unknown>, envelope: Record<string, unknown> = {}) {
  const queue = spyOnQueue()
  const response = await post('/v1/batch', {
    ...envelope,
    batch: [{ type: 'track', userId: 'u', event: 'E', ...item }],
  })
  expect(response.status, await response.clone().text()).toBe(200)
  const [event] = queue.events()
  vi.restoreAllMocks()
  if (!event) throw new Error('nothing queued')
  return event
}

const TEN_MINUTES = 10 * 60 * 1000
const ms = (iso: string | undefined) => Date.parse(iso ?? 'missing')

it('stamps receivedAt with the server time, ignoring a client value', async () => {
  const before = Date.now()
  const event = await queuedFromBatch({ receivedAt: '2001-01-01T00:00:00.000Z' })
  expect(ms(event.receivedAt)).toBeGreaterThanOrEqual(before - 1000)
  expect(ms(event.receivedAt)).toBeLessThanOrEqual(Date.now() + 1000)
})

it('corrects clock skew with the batch sentAt: timestamp = receivedAt − (sentAt − timestamp)', async () => {
  // The device clock is years off, but says the event happened 10 minutes before the send.
  const event = await queuedFromBatch(
    { timestamp: '2001-01-01T00:00:00.000Z' },
    { sentAt: '2001-01-01T00:10:00.000Z' },
  )
  expect(event.originalTimestamp).toBe('2001-01-01T00:00:00.000Z')
  expect(event.sentAt).toBe('2001-01-01T00:10:00.000Z')
  expect(ms(event.receivedAt) - ms(event.timestamp)).toBe(TEN_MINUTES)
})

it("uses the item's own sentAt over the batch's", async () => {
  const event = await queuedFromBatch(
    { timestamp: '2001-01-01T00:00:00.000Z', sentAt: '2001-01-01T00:00:30.000Z' },
    { sentAt: '2001-01-01T00:10:00.000Z' },
  )
  expect(event.sentAt).toBe('2001-01-01T00:00:30.000Z')
  expect(ms(event.receivedAt) - ms(event.timestamp)).toBe(30_000)
})

it('takes originalTimestamp from the client when it sends no timestamp', async () => {
  const event = await queuedFromBatch(
    { originalTimestamp: '2001-01-01T00:00:00+01:00' },
    { sentAt: '2001-01-01T00:00:05+01:00' },
  )
  expect(event.originalTimestamp).toBe('2001-01-01T00:00:00+01:00')
  expect(ms(event.receivedAt) - ms(event.timestamp)).toBe(5_000)
})

it('keeps the client time as timestamp when there is no sentAt', async () => {
  const queue = spyOnQueue()
  await post('/v1/track', { userId: 'u', event: 'E', timestamp: '2020-05-05T05:05:05.000Z' })
  expect(queue.events()[0]).toMatchObject({
    timestamp: '2020-05-05T05:05:05.000Z',
    originalTimestamp: '2020-05-05T05:05:05.000Z',
  })
})

it('uses receivedAt as timestamp when the client sends no time', async () => {
  const event = await queuedFromBatch({}, { sentAt: '2001-01-01T00:10:00.000Z' })
  expect(event.timestamp).toBe(event.receivedAt)
  expect(event).not.toHaveProperty('originalTimestamp')
})

it('falls back to the client time when the skew math cannot be done', async () => {
  // Valid ISO-8601 for the schema, unparsable for Date; and a spoofed clock pushing past year 9999.
  const unparsable = await queuedFromBatch(
    { timestamp: '2001-01-01T00:00:00+05' },
    { sentAt: '2001-01-01T00:10:00Z' },
  )
  expect(unparsable.timestamp).toBe('2001-01-01T00:00:00+05')
  const spoofed = await queuedFromBatch(
    { timestamp: '9999-12-31T00:00:00Z' },
    { sentAt: '0001-01-01T00:00:00Z' },
  )
  expect(spoofed.timestamp).toBe('9999-12-31T00:00:00Z')
})

it('answers 400 for a batch sentAt that is not a timestamp', async () => {
  const response = await post('/v1/batch', {
    sentAt: 'yesterday',
    batch: [{ type: 'track', userId: 'u', event: 'E' }],
  })
  expect(response.status).toBe(400)
  expect(await response.json()).toMatchObject({ issues: [{ path: 'sentAt' }] })
})
