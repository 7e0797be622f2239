import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deliveriesStillQueued, type LocalStack, settleQueueBeforeStop } from '../../scripts/local-stack'
import { startTestStack } from './stack'

/**
 * What only the real local server shows: `wrangler dev` (its proxy sits between
 * the client and the Worker, which `SELF.fetch` does not exercise) and its
 * in-memory queue, in a fresh persist dir.
 */

let stack: LocalStack

beforeAll(async () => {
  stack = await startTestStack('body-limit-test')
})

afterAll(async () => {
  await stack?.stop()
})

/** A body sent chunk by chunk without a Content-Length (Transfer-Encoding: chunked). */
function chunked(totalBytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x78)
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= totalBytes) return controller.close()
      const size = Math.min(chunk.byteLength, totalBytes - sent)
      sent += size
      controller.enqueue(chunk.subarray(0, size))
    },
  })
}

/** Node's fetch streams a ReadableStream body only with `duplex: 'half'` (not in the DOM RequestInit type). */
function post(path: string, body: BodyInit, headers: Record<string, string>, method = 'POST') {
  const init = { method, headers, body, duplex: 'half' } as RequestInit
  return fetch(`${stack.routerUrl}${path}`, init)
}

const TWO_MB = 2 * 1024 * 1024

/**
 * A 413 sent while the client is still uploading used to reach clients as
 * `503 Your worker restarted mid-request` or a reset connection.
 */
describe('too-large bodies under wrangler dev', () => {
  const writeKey = () => ({ Authorization: `Basic ${btoa(`${stack.writeKey}:`)}` })

  it('answers every chunked upload over 500 KB with the 413, not a 503 or a reset', async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await post('/v1/track', chunked(TWO_MB), writeKey())
      expect(response.status).toBe(413)
      expect(await response.json()).toMatchObject({
        error: 'payload_too_large',
        message: 'request body exceeds the limit of 500 KB per request',
      })
    }
  })

  it('answers a body declared too large with the 413', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await post('/v1/batch', 'x'.repeat(TWO_MB), writeKey())
      expect(response.status).toBe(413)
      expect(await response.json()).toMatchObject({ error: 'payload_too_large' })
    }
  })

  it('answers a config upload over 1 MB with the 413', async () => {
    const admin = { Authorization: `Bearer ${stack.adminToken}` }
    const response = await post('/admin/config', chunked(TWO_MB), admin, 'PUT')
    expect(response.status).toBe(413)
    expect(await response.json()).toMatchObject({ error: 'payload_too_large' })
  })

  it('still takes events afterwards', async () => {
    const response = await post('/v1/track', JSON.stringify({ userId: 'u1', event: 'After 413' }), writeKey())
    expect(response.status, await response.clone().text()).toBe(200)
  })
})

describe('stopping with deliveries still queued', () => {
  const faults = () => `${stack.sandboxUrl}/__sandbox/t/default/faults`

  it('says how many retrying deliveries would be lost, and waits for them to settle', async () => {
    // CrowdPower answers 503 until cleared: its delivery stays in the local queue, retrying.
    const fault = await fetch(faults(), {
      method: 'POST',
      body: JSON.stringify({ partner: 'crowdpower', status: 503 }),
    })
    expect(fault.ok).toBe(true)
    const response = await post(
      '/v1/track',
      JSON.stringify({ userId: 'queued-user', event: 'Product Viewed', properties: { product_id: 'sku-q' } }),
      { Authorization: `Basic ${btoa(`${stack.writeKey}:`)}` },
    )
    expect(response.status).toBe(200)
    await expect
      .poll(() => deliveriesStillQueued(stack), { timeout: 20_000, interval: 500 })
      .toBeGreaterThan(0)

    const lines: string[] = []
    const log = (line: string) => lines.push(line)
    const queued = await settleQueueBeforeStop(stack, { waitMs: 1_000, log })
    // CrowdPower's, and perhaps Crisp's second look for a user it does not know yet (also `retrying`).
    expect(queued).toBeGreaterThan(0)
    expect(lines[0]).toMatch(
      /^\d+ deliver(y is|ies are) still retrying in the local queue, which wrangler dev keeps in memory/,
    )
    expect(lines.at(-1)).toMatch(
      new RegExp(`^Stopping: ${queued} deliver(y is|ies are) still undelivered, and lost`),
    )

    // The partner recovers; the next retry (10 s backoff, with jitter) delivers and the queue settles.
    await fetch(`${faults()}?partner=crowdpower`, { method: 'DELETE' })
    lines.length = 0
    expect(await settleQueueBeforeStop(stack, { waitMs: 90_000, log })).toBe(0)
    expect(lines.at(-1)).toBe('The local queue has settled: nothing is lost.')
  })
})
