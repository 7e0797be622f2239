/**
 * The ingest baseline: a Hono worker that only parses the Tracking API body and
 * answers 200 (`POST /v1/*`), the least any Segment-compatible endpoint does.
 * Same runtime, framework and flags as the router, so the ratio isolates the
 * router's own work (auth, validation, normalisation, queue hand-off).
 *
 * `POST /enqueue/v1/*` also hands the parsed events to a local queue as one
 * message, the way the router does (src/ingest/enqueue.ts: one `send` of the
 * message's JSON text, contentType `text`), with a consumer that only acks: the
 * floor that any queue-before-200 ingest pays under `wrangler dev`, reported
 * beside the target so the router's own cost and the local queue's can be told
 * apart. `POST /enqueue-empty/v1/*` sends `{}` instead of the events: what one
 * `send` costs whatever it carries.
 */
import { Hono } from 'hono'

interface Env {
  BASELINE_QUEUE: Queue
}

const app = new Hono<{ Bindings: Env }>()

app.get('/health', (c) => c.json({ ok: true }))

app.post('/v1/:path', async (c) => {
  const body = (await c.req.json()) as { batch?: unknown[] }
  return c.json({ success: true, accepted: Array.isArray(body.batch) ? body.batch.length : 1, rejected: [] })
})

app.post('/enqueue/v1/:path', async (c) => {
  const body = (await c.req.json()) as { batch?: unknown[] }
  const events = Array.isArray(body.batch) ? body.batch : [body]
  const message = { source: 'baseline', ingestId: crypto.randomUUID(), events }
  await c.env.BASELINE_QUEUE.send(JSON.stringify(message), { contentType: 'text' })
  return c.json({ success: true, accepted: events.length, rejected: [] })
})

app.post('/enqueue-empty/v1/:path', async (c) => {
  const body = (await c.req.json()) as { batch?: unknown[] }
  await c.env.BASELINE_QUEUE.send('{}', { contentType: 'text' })
  return c.json({ success: true, accepted: Array.isArray(body.batch) ? body.batch.length : 1, rejected: [] })
})

export default {
  fetch: app.fetch,
  queue(batch: MessageBatch) {
    batch.ackAll()
  },
} satisfies ExportedHandler<Env>
