/**
 * The router, counted: the router's own default export, unchanged, with its
 * bindings wrapped in counting proxies. The counts (Worker invocations, KV reads
 * and writes, D1 rows read and written, queue operations, partner subrequests)
 * turn into the platform cost per million events (bench/lib/cost.ts). Only
 * `wrangler dev` runs this entry; the router's code stays uninstrumented.
 *
 *   GET  /__bench/counters        the counts so far
 *   POST /__bench/counters/reset  start again from zero
 */

import type { Bindings } from '../../src/env'
import router from '../../src/index'
import type { QueuedDeliveryMessage } from '../../src/queue/message'

/** Cloudflare Queues bill each 64 KB of a message written, read or deleted as one operation. */
const QUEUE_OP_BYTES = 64 * 1024

/** Where an operation came from: the Tracking API, the queue consumer, or the admin API (polls, config). */
type Category = 'ingest' | 'consumer' | 'admin'

function emptyTally() {
  return {
    invocations: 0,
    kv: {
      reads: 0,
      writes: 0,
      deletes: 0,
      lists: 0,
      byNamespace: {} as Record<string, Record<string, number>>,
      /** By key prefix: `state:<destination>` for partner state, `config` for the config. */
      byPrefix: {} as Record<string, Record<string, number>>,
    },
    d1: { queries: 0, batches: 0, rowsRead: 0, rowsWritten: 0 },
    queues: {
      messagesSent: 0,
      messagesDelivered: 0,
      messagesAcked: 0,
      messagesRetried: 0,
      bytesSent: 0,
      writeOps: 0,
      readOps: 0,
      deleteOps: 0,
      byQueue: {} as Record<string, { messages: number; writeOps: number }>,
    },
    subrequests: { total: 0, byHost: {} as Record<string, number> },
  }
}

type Tally = ReturnType<typeof emptyTally>

function emptyCounters(): Record<Category, Tally> {
  return { ingest: emptyTally(), consumer: emptyTally(), admin: emptyTally() }
}

let counters = emptyCounters()
const encoder = new TextEncoder()

function opsFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / QUEUE_OP_BYTES))
}

/** Bytes of a message body: exact for `json` (the router's content type), close for v8 serialisation. */
function bodyBytes(body: unknown): number {
  if (typeof body === 'string') return encoder.encode(body).byteLength
  if (body instanceof ArrayBuffer) return body.byteLength
  if (ArrayBuffer.isView(body)) return body.byteLength
  return encoder.encode(JSON.stringify(body) ?? '').byteLength
}

function bump(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by
}

// ------------------------------------------------------------------ KV

function countingKv(category: Category, name: string, kv: KVNamespace): KVNamespace {
  const tally = (kind: 'reads' | 'writes' | 'deletes' | 'lists', key: unknown) => {
    const kv = counters[category].kv
    kv[kind] += 1
    kv.byNamespace[name] = kv.byNamespace[name] ?? {}
    bump(kv.byNamespace[name], kind)
    const prefix = typeof key === 'string' ? key.split(':').slice(0, 2).join(':') : '(several keys)'
    kv.byPrefix[prefix] = kv.byPrefix[prefix] ?? {}
    bump(kv.byPrefix[prefix], kind)
  }
  return new Proxy(kv, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      const method = value.bind(target) as (...args: unknown[]) => unknown
      if (property === 'get' || property === 'getWithMetadata')
        return (...args: unknown[]) => {
          // A get of several keys at once is one read per key.
          tally('reads', args[0])
          if (Array.isArray(args[0])) counters[category].kv.reads += args[0].length - 1
          return method(...args)
        }
      if (property === 'put')
        return (...args: unknown[]) => {
          tally('writes', args[0])
          return method(...args)
        }
      if (property === 'delete')
        return (...args: unknown[]) => {
          tally('deletes', args[0])
          return method(...args)
        }
      if (property === 'list')
        return (...args: unknown[]) => {
          tally('lists', args[0])
          return method(...args)
        }
      return method
    },
  })
}

// ------------------------------------------------------------------ D1

interface Meta {
  rows_read?: number
  rows_written?: number
}

function countMeta(category: Category, meta: Meta | undefined): void {
  counters[category].d1.rowsRead += meta?.rows_read ?? 0
  counters[category].d1.rowsWritten += meta?.rows_written ?? 0
}

const realStatements = new WeakMap<object, D1PreparedStatement>()

function countingStatement(category: Category, statement: D1PreparedStatement): D1PreparedStatement {
  const d1 = () => counters[category].d1
  const wrapped = {
    bind: (...values: unknown[]) => countingStatement(category, statement.bind(...values)),
    async run() {
      d1().queries += 1
      const result = await statement.run()
      countMeta(category, result.meta as Meta)
      return result
    },
    async all() {
      d1().queries += 1
      const result = await statement.all()
      countMeta(category, result.meta as Meta)
      return result
    },
    async first(column?: string) {
      // `first` returns no meta: read through `all` (same query, same rows) to count it.
      d1().queries += 1
      const result = await statement.all<Record<string, unknown>>()
      countMeta(category, result.meta as Meta)
      const row = result.results[0]
      if (row === undefined) return null
      return column === undefined ? row : (row[column] ?? null)
    },
    async raw(options?: { columnNames?: boolean }) {
      d1().queries += 1
      return statement.raw(options as { columnNames: true })
    },
  } as unknown as D1PreparedStatement
  realStatements.set(wrapped, statement)
  return wrapped
}

function countingD1(category: Category, db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'prepare') return (query: string) => countingStatement(category, target.prepare(query))
      if (property === 'batch')
        return async (statements: D1PreparedStatement[]) => {
          counters[category].d1.batches += 1
          counters[category].d1.queries += statements.length
          const real = statements.map((statement) => realStatements.get(statement) ?? statement)
          const results = await target.batch(real)
          for (const result of results) countMeta(category, result.meta as Meta)
          return results
        }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

// ------------------------------------------------------------------ Queues

function countSend(category: Category, queueName: string, body: unknown): void {
  const bytes = bodyBytes(body)
  const ops = opsFor(bytes)
  const queues = counters[category].queues
  queues.messagesSent += 1
  queues.bytesSent += bytes
  queues.writeOps += ops
  const own = queues.byQueue[queueName] ?? { messages: 0, writeOps: 0 }
  queues.byQueue[queueName] = own
  own.messages += 1
  own.writeOps += ops
}

function countingQueue<T>(category: Category, name: string, queue: Queue<T>): Queue<T> {
  return new Proxy(queue, {
    get(target, property, receiver) {
      if (property === 'send')
        return (body: T, options?: QueueSendOptions) => {
          countSend(category, name, body)
          return target.send(body, options)
        }
      if (property === 'sendBatch')
        return (messages: Iterable<MessageSendRequest<T>>, options?: QueueSendBatchOptions) => {
          const list = [...messages]
          for (const message of list) countSend(category, name, message.body)
          return target.sendBatch(list, options)
        }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** Wraps a delivered batch so every ack (→ delete) and retry (→ read again later) is seen. */
function countingBatch(batch: MessageBatch<QueuedDeliveryMessage>) {
  const settled = new Set<string>()
  const queues = counters.consumer.queues
  const messages = batch.messages.map((message) => {
    const ops = opsFor(bodyBytes(message.body))
    queues.messagesDelivered += 1
    queues.readOps += ops
    return {
      get id() {
        return message.id
      },
      get timestamp() {
        return message.timestamp
      },
      get body() {
        return message.body
      },
      get attempts() {
        return message.attempts
      },
      ack() {
        if (!settled.has(message.id)) {
          settled.add(message.id)
          queues.messagesAcked += 1
          queues.deleteOps += ops
        }
        message.ack()
      },
      retry(options?: QueueRetryOptions) {
        if (!settled.has(message.id)) {
          settled.add(message.id)
          queues.messagesRetried += 1
        }
        message.retry(options)
      },
    } as Message<QueuedDeliveryMessage>
  })
  const wrapped = {
    get queue() {
      return batch.queue
    },
    messages,
    ackAll() {
      for (const message of messages) message.ack()
    },
    retryAll(options?: QueueRetryOptions) {
      for (const message of messages) message.retry(options)
    },
  } as unknown as MessageBatch<QueuedDeliveryMessage>
  /** Messages neither acked nor retried by a handler that returned are acked by the runtime. */
  const settleRest = () => {
    for (const message of messages) if (!settled.has(message.id)) message.ack()
  }
  return { wrapped, settleRest }
}

// ------------------------------------------------------------------ subrequests

/** Partner calls are made only by the consumer (the router's ingest and admin API call no one). */
const realFetch = globalThis.fetch
globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
  const url = new URL(input instanceof Request ? input.url : String(input))
  counters.consumer.subrequests.total += 1
  bump(counters.consumer.subrequests.byHost, url.host)
  return realFetch(input, init)
}) as typeof fetch

// ------------------------------------------------------------------ entry

const wrappedEnvs = new WeakMap<Bindings, Partial<Record<Category, Bindings>>>()

function countingEnv(env: Bindings, category: Category): Bindings {
  const forEnv = wrappedEnvs.get(env) ?? {}
  wrappedEnvs.set(env, forEnv)
  forEnv[category] ??= {
    ...env,
    CONFIG: countingKv(category, 'CONFIG', env.CONFIG),
    PARTNER_STATE: countingKv(category, 'PARTNER_STATE', env.PARTNER_STATE),
    LEDGER: countingD1(category, env.LEDGER),
    DELIVERY_QUEUE: countingQueue(category, 'DELIVERY_QUEUE', env.DELIVERY_QUEUE),
    DEAD_LETTER_QUEUE: countingQueue(category, 'DEAD_LETTER_QUEUE', env.DEAD_LETTER_QUEUE),
  }
  return forEnv[category]
}

function categoryOf(pathname: string): Category {
  return pathname.startsWith('/v1/') || pathname.startsWith('/webhook/') ? 'ingest' : 'admin'
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url)
    if (pathname === '/__bench/counters') return Response.json(counters)
    if (pathname === '/__bench/counters/reset' && request.method === 'POST') {
      counters = emptyCounters()
      return Response.json({ ok: true })
    }
    const category = categoryOf(pathname)
    counters[category].invocations += 1
    return router.fetch(request, countingEnv(env, category), ctx)
  },
  async queue(batch, env) {
    counters.consumer.invocations += 1
    const { wrapped, settleRest } = countingBatch(batch)
    await router.queue(wrapped, countingEnv(env, 'consumer'))
    settleRest()
  },
} satisfies ExportedHandler<Bindings, QueuedDeliveryMessage>
