/**
 * Target 5, in process: the router's own Hono app (`app.fetch`, unchanged) on
 * batches of 1, 10, 100, 1,000 and 2,500 events and on the largest allowed
 * request (500 KB of realistic events), with in-memory bindings (the config from
 * a Map, a queue that serialises each message as the real one does and keeps
 * nothing). For each size: CPU per request and per event (process.cpuUsage over
 * many requests) and the bytes allocated by one request. Run with a young
 * generation large enough that no GC happens inside one request, so the heap
 * growth over the request is everything it allocated: an upper bound on what it
 * holds at its peak.
 *
 *   node --expose-gc --max-semi-space-size=256 --import tsx bench/scaling.ts
 */
import { timingSafeEqual } from 'node:crypto'
import { app } from '../src/app'
import { MAX_REQUEST_BYTES } from '../src/ingest/limits'
import { basicAuth, benchConfig, INGEST_SOURCE } from './lib/config'
import { batchBody, makeUsers, mixedStream, type RawEvent } from './lib/events'

// workerd's non-standard crypto.subtle.timingSafeEqual, which the router uses to compare write keys.
Object.assign(crypto.subtle, {
  timingSafeEqual: (a: ArrayBufferView, b: ArrayBufferView) =>
    timingSafeEqual(
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
    ),
})

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')

const config = benchConfig('http://127.0.0.1:9', 'scaling')
let queuedBytes = 0
const kv = {
  get: async (key: string) => (key === 'config:v1' ? structuredClone(config) : null),
  put: async () => {},
}
/** Queued bodies are the JSON text of each message (src/ingest/enqueue.ts). */
const queue = {
  async send(body: string) {
    queuedBytes += body.length
  },
  async sendBatch(messages: { body: string }[]) {
    for (const message of messages) queuedBytes += message.body.length
  },
}
const env = {
  CONFIG: kv,
  PARTNER_STATE: kv,
  DELIVERY_QUEUE: queue,
  DEAD_LETTER_QUEUE: queue,
  ADMIN_TOKEN: 'x',
}
const executionContext = { waitUntil() {}, passThroughOnException() {}, props: {} }
const auth = basicAuth(INGEST_SOURCE.writeKey)

/** A small track event (~170 bytes), so 2,500 of them fit the 500 KB request limit. */
function smallEvent(index: number): RawEvent {
  return {
    type: 'track',
    event: 'Product Viewed',
    userId: `u${index % 997}`,
    messageId: `scale-${index}`,
    timestamp: '2026-01-01T00:00:00.000Z',
    properties: { product_id: `sku-${index % 500}`, price: 9.99 },
  }
}

async function post(body: string): Promise<void> {
  const response = await app.fetch(
    new Request('http://router.local/v1/batch', {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body,
    }),
    env,
    executionContext as unknown as ExecutionContext,
  )
  const text = await response.text()
  if (response.status !== 200) throw new Error(`${response.status} ${text.slice(0, 300)}`)
}

function cpuUs(): number {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

interface SizeResult {
  label: string
  events: number
  bodyBytes: number
  requests: number
  cpuUsPerRequest: number
  cpuUsPerEvent: number
  allocatedBytes: number
  allocatedBytesPerEvent: number
}

async function measure(label: string, events: RawEvent[]): Promise<SizeResult> {
  const body = batchBody(events)
  if (new TextEncoder().encode(body).byteLength > MAX_REQUEST_BYTES)
    throw new Error(`${label}: body over the limit`)
  // Enough requests for ~0.5 s of CPU at any size.
  const requests = Math.max(5, Math.min(2000, Math.round(40_000 / events.length)))
  for (let index = 0; index < Math.min(requests, 20); index += 1) await post(body) // warm-up
  const start = cpuUs()
  for (let index = 0; index < requests; index += 1) await post(body)
  const cpu = (cpuUs() - start) / requests
  // Allocation of one request: median of 5, each starting from a collected heap.
  const allocations: number[] = []
  for (let index = 0; index < 5; index += 1) {
    gc?.()
    const before = process.memoryUsage().heapUsed
    await post(body)
    allocations.push(process.memoryUsage().heapUsed - before)
  }
  allocations.sort((a, b) => a - b)
  const allocated = allocations[2] ?? 0
  return {
    label,
    events: events.length,
    bodyBytes: Buffer.byteLength(body),
    requests,
    cpuUsPerRequest: cpu,
    cpuUsPerEvent: cpu / events.length,
    allocatedBytes: allocated,
    allocatedBytesPerEvent: allocated / events.length,
  }
}

const results: SizeResult[] = []
for (const size of [1, 10, 100, 1000, 2500]) {
  results.push(
    await measure(
      `${size} small event${size === 1 ? '' : 's'}`,
      Array.from({ length: size }, (_, index) => smallEvent(index)),
    ),
  )
}
// The largest allowed request: realistic events up to 500 KB.
const realistic = mixedStream(2000, makeUsers(400), 5, 'scale')
const largest: RawEvent[] = []
let largestBytes = Buffer.byteLength(batchBody([]))
for (const event of realistic) {
  largestBytes += Buffer.byteLength(JSON.stringify(event)) + 1
  if (largestBytes > MAX_REQUEST_BYTES - 1024) break
  largest.push(event)
}
results.push(await measure(`500 KB request (${largest.length} realistic events)`, largest))

process.stdout.write(`${JSON.stringify({ results, queuedBytes })}\n`)
