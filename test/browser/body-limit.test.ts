import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalStack, startLocalStack } from '../../scripts/local-stack'

/**
 * The 413 for a too-large body, through the real `wrangler dev` (its proxy sits
 * between the client and the Worker, which `SELF.fetch` does not exercise). A
 * 413 sent while the client is still uploading used to reach clients as
 * `503 Your worker restarted mid-request` or a reset connection.
 */

let stack: LocalStack
let persistDir: string

beforeAll(async () => {
  persistDir = mkdtempSync(join(tmpdir(), 'router-state-'))
  stack = await startLocalStack({
    routerPort: 0,
    sandboxPort: 0,
    persistTo: persistDir,
    adminToken: `body-limit-test-${randomUUID()}`,
    output: 'capture',
  })
})

afterAll(async () => {
  await stack?.stop()
  if (persistDir) rmSync(persistDir, { recursive: true, force: true })
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
