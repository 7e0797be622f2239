import { describe, expect, it } from 'vitest'
import { gzip, postAsWeb, routerFetch, spyOnQueue, useSources, WEB } from '../helpers/router'

useSources(WEB)

const post = (path: string, body: BodyInit) => postAsWeb(path, body)

/** A track event whose JSON is exactly `bytes` long. */
function trackOfSize(bytes: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = { type: 'track', userId: 'u1', event: 'Sized', ...extra, properties: { pad: '' } }
  const pad = 'x'.repeat(bytes - JSON.stringify(base).length)
  return { ...base, properties: { pad } }
}

describe('500 KB per request', () => {
  it('answers 413 naming the limit', async () => {
    const body = JSON.stringify({ batch: [trackOfSize(20_000)], filler: 'y'.repeat(500 * 1024) })
    const response = await post('/v1/batch', body)
    expect(response.status).toBe(413)
    expect((await response.json()) as { message: string }).toMatchObject({
      message: expect.stringContaining('500 KB per request'),
    })
  })

  it('applies to the decoded size of a gzip body', async () => {
    const body = JSON.stringify({ batch: [trackOfSize(1_000)], filler: 'y'.repeat(600 * 1024) })
    const compressed = await gzip(body)
    expect(compressed.byteLength).toBeLessThan(10_000)
    expect((await post('/v1/batch', compressed)).status).toBe(413)
  })

  it('accepts a request just under the limit', async () => {
    const events = Array.from({ length: 15 }, () => trackOfSize(32 * 1024))
    const body = JSON.stringify({ batch: events })
    expect(body.length).toBeGreaterThan(480 * 1024)
    expect((await post('/v1/batch', body)).status).toBe(200)
  })
})

describe('32 KB per event', () => {
  it('accepts an event of exactly 32 KB', async () => {
    expect((await post('/v1/track', JSON.stringify(trackOfSize(32 * 1024)))).status).toBe(200)
  })

  it('answers 413 on a single-event path', async () => {
    const queue = spyOnQueue()
    const response = await post('/v1/track', JSON.stringify(trackOfSize(32 * 1024 + 1)))
    expect(response.status).toBe(413)
    expect(await response.json()).toMatchObject({ message: expect.stringContaining('32 KB per event') })
    expect(queue.requests()).toEqual([])
  })

  it('rejects only the oversized event of a batch, by index', async () => {
    const queue = spyOnQueue()
    const big = trackOfSize(33 * 1024, { messageId: 'big-one' })
    const response = await post(
      '/v1/batch',
      JSON.stringify({ batch: [trackOfSize(100), big, trackOfSize(100)] }),
    )
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      success: true,
      accepted: 2,
      rejected: [
        {
          index: 1,
          messageId: 'big-one',
          issues: [{ path: 'batch.1', message: expect.stringContaining('32 KB per event') }],
        },
      ],
    })
    expect(queue.events()).toHaveLength(2)
  })

  it('counts the batch context merged into the event', async () => {
    const context = { blob: 'z'.repeat(20 * 1024) }
    const response = await post(
      '/v1/batch',
      JSON.stringify({ context, batch: [trackOfSize(100), trackOfSize(16 * 1024)] }),
    )
    expect(await response.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] })
  })
})

describe('2,500 events per batch', () => {
  const small = { type: 'track', userId: 'u', event: 'E' }

  it('accepts 2,500 events', async () => {
    const queue = spyOnQueue()
    const response = await post('/v1/batch', JSON.stringify({ batch: Array(2_500).fill(small) }))
    expect(await response.json()).toMatchObject({ accepted: 2_500 })
    expect(queue.events()).toHaveLength(2_500)
  })

  it('answers 400 naming the limit for 2,501', async () => {
    const queue = spyOnQueue()
    const response = await post('/v1/batch', JSON.stringify({ batch: Array(2_501).fill(small) }))
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      issues: [{ path: 'batch', message: expect.stringContaining('2,500 events per batch') }],
    })
    expect(queue.requests()).toEqual([])
  })
})

describe('100 levels of nesting per event', () => {
  /** A track event nesting `levels` deep, counting the event object itself. */
  const nested = (levels: number) => {
    const inner = `${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}`
    return `{"type":"track","userId":"u","event":"Deep","properties":{"x":${inner}}}`
  }

  it('accepts 100 levels and rejects 101 by index, naming the limit', async () => {
    const queue = spyOnQueue()
    const response = await post('/v1/batch', `{"batch":[${nested(100)},${nested(101)}]}`)
    expect(await response.json()).toMatchObject({
      accepted: 1,
      rejected: [{ index: 1, issues: [{ path: 'batch.1', message: expect.stringContaining('100 levels') }] }],
    })
    expect(queue.events()).toHaveLength(1)
  })
})

it('answers 413 for a webhook over 5 MB', async () => {
  const response = await routerFetch('/webhook/web', {
    method: 'POST',
    body: 'x'.repeat(5 * 1024 * 1024 + 1),
  })
  expect(response.status).toBe(413)
  expect(await response.json()).toMatchObject({
    message: expect.stringContaining('5 MB per webhook request'),
  })
})
