/**
 * The floor: the least any worker doing the router's job must do, in the same
 * runtime, framework and flags, so router ÷ floor isolates the router's own cost.
 *
 * Ingest (`POST /v1/batch`, `/v1/t`): parse the body, stamp the keys the router
 * stamps, make one queue `send` of the packed message's JSON text (as
 * src/queue/produce.ts does): the same message, byte for byte as large.
 * Consumer: messages from source `load` are only acked (the ingest runs); others
 * get the router's work without its logic: one claim and one record call per
 * ledger shard touched, writing one row per event each (a tiny SQLite Durable
 * Object), and as many prebuilt partner requests as the router made (the bench
 * stores them, and the count per event, in KV under `requests`), 6 in flight as
 * Workers allows per invocation.
 */
import { DurableObject } from 'cloudflare:workers'
import { Hono } from 'hono'

interface Env {
  FLOOR: KVNamespace
  FLOOR_LEDGER: DurableObjectNamespace<FloorShard>
  FLOOR_QUEUE: Queue<string>
}
interface Prebuilt {
  perEvent: number
  requests: { url: string; method: string; headers: Record<string, string>; body: string | null }[]
}
interface Message {
  source: string
  ingestId: string
  events: { messageId: string }[]
}

const SHARDS = 16
/** Simultaneous open connections per invocation (Workers limits). */
const OPEN_CONNECTIONS = 6
const app = new Hono<{ Bindings: Env }>()
app.get('/health', (c) => c.json({ ok: true }))
app.put('/__floor/requests', async (c) => {
  await c.env.FLOOR.put('requests', await c.req.text())
  return c.json({ ok: true })
})
app.post('/v1/:kind', async (c) => {
  const body = (await c.req.json()) as { batch?: Record<string, unknown>[] } & Record<string, unknown>
  const events = Array.isArray(body.batch) ? body.batch : [body]
  const receivedAt = new Date().toISOString()
  // The keys the router stamps, so the message queued is as large as the router's
  // (timestamp without the router's clock-skew arithmetic: that is the router's own work).
  for (const event of events) {
    event.originalTimestamp = event.timestamp
    event.timestamp = receivedAt
    event.receivedAt = receivedAt
    event.sentAt = body.sentAt ?? receivedAt
  }
  const source = c.req.header('x-floor-source') ?? 'load'
  // 16 characters, as the router's ingest id.
  const message = { source, ingestId: crypto.randomUUID().slice(0, 16), events }
  await c.env.FLOOR_QUEUE.send(JSON.stringify(message), { contentType: 'text' })
  return c.json({ success: true })
})

export class FloorShard extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, state TEXT, updated_at INTEGER) WITHOUT ROWID;
       CREATE TABLE IF NOT EXISTS rollups (status TEXT PRIMARY KEY, count INTEGER) WITHOUT ROWID`,
    )
  }
  write(ids: string[], status: string): void {
    const sql = this.ctx.storage.sql
    this.ctx.storage.transactionSync(() => {
      for (const id of ids)
        sql.exec(
          'INSERT INTO events VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
          id,
          JSON.stringify({ a: status, b: status, c: status, d: status }),
          Date.now(),
        )
      sql.exec(
        'INSERT INTO rollups VALUES (?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count',
        status,
        ids.length,
      )
    })
  }
}

let prebuilt: Prebuilt | undefined
let owed = 0

function byShard(ids: string[]): Map<number, string[]> {
  const groups = new Map<number, string[]>()
  for (const id of ids) {
    let hash = 0
    for (let i = 0; i < id.length; i += 1) hash = (hash * 31 + id.charCodeAt(i)) >>> 0
    const list = groups.get(hash % SHARDS) ?? []
    list.push(id)
    groups.set(hash % SHARDS, list)
  }
  return groups
}

async function writeAll(env: Env, groups: Map<number, string[]>, status: string): Promise<void> {
  await Promise.all(
    [...groups].map(([shard, ids]) =>
      env.FLOOR_LEDGER.get(env.FLOOR_LEDGER.idFromName(`shard-${shard}`)).write(ids, status),
    ),
  )
}

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<string>, env: Env) {
    const messages = batch.messages.map((m) => JSON.parse(m.body) as Message)
    if (messages.every((m) => m.source === 'load')) return batch.ackAll()
    prebuilt ??= (await env.FLOOR.get<Prebuilt>('requests', 'json')) ?? undefined
    if (!prebuilt) throw new Error('no prebuilt requests in KV')
    const ids = messages.flatMap((m) => m.events.map((e) => e.messageId))
    const groups = byShard(ids)
    await writeAll(env, groups, 'leased')
    owed += ids.length * prebuilt.perEvent
    const due = Math.floor(owed)
    owed -= due
    const { requests } = prebuilt
    let sent = 0
    const sendNext = async (): Promise<void> => {
      while (sent < due) {
        const r = requests[sent++ % requests.length]
        if (!r) return
        const response = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body })
        await response.arrayBuffer()
      }
    }
    // Workers keeps 6 connections open per invocation and queues the rest: 6 in flight, as deployed.
    await Promise.all(Array.from({ length: OPEN_CONNECTIONS }, sendNext))
    await writeAll(env, groups, 'delivered')
    batch.ackAll()
  },
} satisfies ExportedHandler<Env, string>
