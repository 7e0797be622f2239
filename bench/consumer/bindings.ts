/**
 * Local KV, D1 and Queues for the consumer in a Node process, from miniflare's
 * own simulators (the ones `wrangler dev` runs), in a separate workerd process,
 * persisted under a directory of the caller's choosing. The bindings, their ids
 * and queue names are read from wrangler.toml (wrangler's
 * `unstable_getMiniflareWorkerOptions`). Two ways to reach them from Node:
 *
 * - `bridge` (the default): a small worker bound to those resources in that
 *   workerd, and one WebSocket to it; each binding call from Node is one JSON
 *   message each way, answered by the real binding. What a call costs in Node
 *   (JSON, a WebSocket frame) is of the order of what a binding call costs a
 *   worker (serialise, send to the service), and is counted as the consumer's.
 * - `proxy`: wrangler's `getPlatformProxy` bindings. Each call goes through
 *   miniflare's generic proxy (an HTTP request per call; `prepare` and `bind`
 *   are synchronous requests through a worker thread blocked on Atomics.wait),
 *   which costs several milliseconds of this process's CPU per call.
 *
 * Both are wrapped to count calls by kind.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import type { Bindings } from '../../src/env'

export type BindingMode = 'bridge' | 'proxy'

export interface BindingCalls {
  kvReads: number
  kvWrites: number
  /** D1 statements run, in batches or alone. */
  d1Statements: number
  d1Batches: number
  queueSends: number
  queueMessages: number
}

/** The consumer settings of a queue in wrangler.toml (`[[queues.consumers]]`). */
export interface QueueConsumerSettings {
  queue: string
  maxBatchSize: number
  maxRetries: number
}

export interface LocalBindings {
  mode: BindingMode
  env: Bindings
  calls: BindingCalls
  consumers: QueueConsumerSettings[]
  dispose(): Promise<void>
}

const noCalls = (): BindingCalls => ({
  kvReads: 0,
  kvWrites: 0,
  d1Statements: 0,
  d1Batches: 0,
  queueSends: 0,
  queueMessages: 0,
})

// ------------------------------------------------------------ bridge worker

/** Runs in workerd: each message `{ id, op, args }` is answered by `{ id, value }` or `{ id, error }`. */
const BRIDGE_WORKER = /* js */ `
const statement = (db, [sql, params]) => db.prepare(sql).bind(...params)
const OPS = {
  'kv.get': (env, ns, key, type) => env[ns].get(key, type),
  'kv.getWithMetadata': (env, ns, key, type) => env[ns].getWithMetadata(key, type),
  'kv.put': (env, ns, key, value, options) => env[ns].put(key, value, options ?? undefined),
  'kv.delete': (env, ns, key) => env[ns].delete(key),
  'kv.list': (env, ns, options) => env[ns].list(options ?? undefined),
  'd1.all': (env, db, query) => statement(env[db], query).all(),
  'd1.run': (env, db, query) => statement(env[db], query).run(),
  'd1.raw': (env, db, query, options) => statement(env[db], query).raw(options ?? undefined),
  'd1.first': (env, db, query, column) => statement(env[db], query).first(column ?? undefined),
  'd1.batch': (env, db, queries) => env[db].batch(queries.map((query) => statement(env[db], query))),
  'queue.metrics': (env, queue) => env[queue].metrics(),
  'queue.send': (env, queue, body, options) => env[queue].send(body, options ?? undefined),
  'queue.sendBatch': (env, queue, messages, options) => env[queue].sendBatch(messages, options ?? undefined),
}
export default {
  fetch(request, env) {
    if (request.headers.get('upgrade') !== 'websocket') return new Response('bindings bridge', { status: 426 })
    const [client, server] = Object.values(new WebSocketPair())
    server.accept()
    const parts = new Map()
    server.addEventListener('message', async (event) => {
      // Frames: "<id> <last 0|1> <chunk>"; a call's JSON may span several (workerd caps a message at 1 MiB).
      const text = event.data
      const first = text.indexOf(' ')
      const id = text.slice(0, first)
      const chunk = (parts.get(id) ?? '') + text.slice(first + 3)
      if (text[first + 1] !== '1') return void parts.set(id, chunk)
      parts.delete(id)
      let reply
      try {
        const { op, args } = JSON.parse(chunk)
        const value = await OPS[op](env, ...args)
        reply = { id, value: value ?? null }
      } catch (error) {
        reply = { id, error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) } }
      }
      server.send(JSON.stringify(reply))
    })
    return new Response(null, { status: 101, webSocket: client })
  },
}
`

/** Frames of at most this many characters (UTF-16 units; at most 3 bytes each in UTF-8): under 1 MiB. */
const FRAME_CHARS = 300_000

class Bridge {
  #socket: WebSocket
  #next = 0
  #pending = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()

  private constructor(socket: WebSocket) {
    this.#socket = socket
    socket.on('message', (data) => {
      const reply = JSON.parse(data.toString()) as {
        id: string
        value?: unknown
        error?: { name: string; message: string }
      }
      const waiter = this.#pending.get(reply.id)
      this.#pending.delete(reply.id)
      if (!waiter) return
      if (reply.error) {
        const error = new Error(reply.error.message)
        error.name = reply.error.name
        waiter.reject(error)
      } else waiter.resolve(reply.value)
    })
    socket.on('close', () => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error('bindings bridge closed'))
      this.#pending.clear()
    })
  }

  static open(url: string): Promise<Bridge> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false })
      socket.on('open', () => resolve(new Bridge(socket)))
      socket.on('error', reject)
    })
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = (this.#next++).toString(36)
    const json = JSON.stringify({ op, args })
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      for (let start = 0; start < json.length || start === 0; start += FRAME_CHARS) {
        const last = start + FRAME_CHARS >= json.length ? '1' : '0'
        this.#socket.send(`${id} ${last} ${json.slice(start, start + FRAME_CHARS)}`)
      }
    })
  }

  close(): void {
    this.#socket.close()
  }
}

type KvType = 'text' | 'json' | { type?: 'text' | 'json'; cacheTtl?: number }

function bridgeKv(bridge: Bridge, ns: string): KVNamespace {
  const supported = (type: unknown) => {
    const name = typeof type === 'object' && type !== null ? (type as { type?: string }).type : type
    if (name !== undefined && name !== 'text' && name !== 'json')
      throw new Error(`bindings bridge: KV type ${String(name)} is not supported`)
    return type ?? null
  }
  return {
    get: (key: string, type?: KvType) => bridge.call('kv.get', ns, key, supported(type)),
    getWithMetadata: (key: string, type?: KvType) =>
      bridge.call('kv.getWithMetadata', ns, key, supported(type)),
    put: (key: string, value: unknown, options?: unknown) => {
      if (typeof value !== 'string') throw new Error('bindings bridge: only string KV values are supported')
      return bridge.call('kv.put', ns, key, value, options ?? null)
    },
    delete: (key: string) => bridge.call('kv.delete', ns, key),
    list: (options?: unknown) => bridge.call('kv.list', ns, options ?? null),
  } as unknown as KVNamespace
}

/** A prepared statement is only its SQL and bound values until it runs (as D1's are). */
class BridgeStatement {
  constructor(
    readonly bridge: Bridge,
    readonly db: string,
    readonly sql: string,
    readonly params: unknown[] = [],
  ) {}

  bind(...values: unknown[]): BridgeStatement {
    for (const value of values)
      if (value === undefined) throw new TypeError("D1_TYPE_ERROR: Type 'undefined' not supported")
    return new BridgeStatement(this.bridge, this.db, this.sql, values)
  }

  get query(): [string, unknown[]] {
    return [this.sql, this.params]
  }

  all() {
    return this.bridge.call('d1.all', this.db, this.query)
  }

  run() {
    return this.bridge.call('d1.run', this.db, this.query)
  }

  raw(options?: unknown) {
    return this.bridge.call('d1.raw', this.db, this.query, options ?? null)
  }

  first(column?: string) {
    return this.bridge.call('d1.first', this.db, this.query, column ?? null)
  }
}

function bridgeD1(bridge: Bridge, db: string): D1Database {
  return {
    prepare: (sql: string) => new BridgeStatement(bridge, db, sql),
    batch: (statements: BridgeStatement[]) =>
      bridge.call(
        'd1.batch',
        db,
        statements.map((statement) => statement.query),
      ),
    exec: () => {
      throw new Error('bindings bridge: exec is not supported')
    },
  } as unknown as D1Database
}

function bridgeQueue(bridge: Bridge, queue: string): Queue<unknown> {
  return {
    metrics: () => bridge.call('queue.metrics', queue),
    send: (body: unknown, options?: unknown) => bridge.call('queue.send', queue, body, options ?? null),
    sendBatch: (messages: unknown, options?: unknown) =>
      bridge.call('queue.sendBatch', queue, messages, options ?? null),
  } as unknown as Queue<unknown>
}

// ------------------------------------------------------------ counting

function countedKv(inner: KVNamespace, calls: BindingCalls): KVNamespace {
  return {
    get: (...args: unknown[]) => {
      calls.kvReads += 1
      return (inner.get as (...a: unknown[]) => unknown)(...args)
    },
    getWithMetadata: (...args: unknown[]) => {
      calls.kvReads += 1
      return (inner.getWithMetadata as (...a: unknown[]) => unknown)(...args)
    },
    put: (...args: unknown[]) => {
      calls.kvWrites += 1
      return (inner.put as (...a: unknown[]) => unknown)(...args)
    },
    delete: (key: string) => {
      calls.kvWrites += 1
      return inner.delete(key)
    },
    list: (...args: unknown[]) => {
      calls.kvReads += 1
      return (inner.list as (...a: unknown[]) => unknown)(...args)
    },
  } as unknown as KVNamespace
}

function countedD1(inner: D1Database, calls: BindingCalls): D1Database {
  /** The binding's own statement behind each wrapper, for `batch`. */
  const own = new WeakMap<object, D1PreparedStatement>()
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const run =
      <K extends 'all' | 'run' | 'raw' | 'first'>(name: K) =>
      (...args: unknown[]) => {
        calls.d1Statements += 1
        return (statement[name] as (...a: unknown[]) => unknown).apply(statement, args)
      }
    const wrapper = {
      bind: (...values: unknown[]) => wrap(statement.bind(...values)),
      all: run('all'),
      run: run('run'),
      raw: run('raw'),
      first: run('first'),
    }
    own.set(wrapper, statement)
    return wrapper as unknown as D1PreparedStatement
  }
  return {
    prepare: (sql: string) => wrap(inner.prepare(sql)),
    batch: (statements: D1PreparedStatement[]) => {
      calls.d1Batches += 1
      calls.d1Statements += statements.length
      return inner.batch(statements.map((statement) => own.get(statement) ?? statement))
    },
    exec: (sql: string) => inner.exec(sql),
  } as unknown as D1Database
}

function countedQueue<T>(inner: Queue<T>, calls: BindingCalls): Queue<T> {
  return {
    metrics: () => inner.metrics(),
    send: (body: T, options?: QueueSendOptions) => {
      calls.queueSends += 1
      calls.queueMessages += 1
      return inner.send(body, options)
    },
    sendBatch: (messages: Iterable<MessageSendRequest<T>>, options?: QueueSendBatchOptions) => {
      const list = [...messages]
      calls.queueSends += 1
      calls.queueMessages += list.length
      return inner.sendBatch(list, options)
    },
  } as Queue<T>
}

function counted(raw: Bindings, calls: BindingCalls): Bindings {
  return {
    ...raw,
    CONFIG: countedKv(raw.CONFIG, calls),
    PARTNER_STATE: countedKv(raw.PARTNER_STATE, calls),
    LEDGER: countedD1(raw.LEDGER, calls),
    DELIVERY_QUEUE: countedQueue(raw.DELIVERY_QUEUE, calls),
    DEAD_LETTER_QUEUE: countedQueue(raw.DEAD_LETTER_QUEUE, calls),
  }
}

// ------------------------------------------------------------ open

/**
 * The router's bindings (wrangler.toml) on local simulators persisted in
 * `persistDir` (miniflare's persist root, as `wrangler dev --persist-to <dir>/..`
 * would use), with `vars` from wrangler.toml.
 */
export async function openBindings(
  mode: BindingMode,
  configPath: string,
  persistDir: string,
): Promise<LocalBindings> {
  const calls = noCalls()
  const { getPlatformProxy, unstable_getMiniflareWorkerOptions } = await import('wrangler')
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath)
  // Platform defaults where wrangler.toml says nothing (max_batch_size 10, max_retries 3).
  const consumers = Object.entries(workerOptions.queueConsumers ?? {}).map(([queue, settings]) => {
    const options = typeof settings === 'object' && settings !== null ? settings : {}
    return {
      queue,
      maxBatchSize: (options as { maxBatchSize?: number }).maxBatchSize ?? 10,
      maxRetries: (options as { maxRetries?: number }).maxRetries ?? 3,
    }
  })
  if (mode === 'proxy') {
    const proxy = await getPlatformProxy<Bindings>({
      configPath,
      persist: { path: persistDir },
      remoteBindings: false,
      envFiles: [],
    })
    return { mode, env: counted(proxy.env, calls), calls, consumers, dispose: () => proxy.dispose() }
  }
  const { Miniflare } = await import('miniflare')
  const mf = new Miniflare({
    name: 'consumer-bindings-bridge',
    modules: true,
    script: BRIDGE_WORKER,
    compatibilityDate: workerOptions.compatibilityDate,
    compatibilityFlags: workerOptions.compatibilityFlags,
    kvNamespaces: workerOptions.kvNamespaces,
    d1Databases: workerOptions.d1Databases,
    queueProducers: workerOptions.queueProducers,
    defaultPersistRoot: persistDir,
    host: '127.0.0.1',
    port: 0,
  })
  try {
    const url = await mf.ready
    const bridge = await Bridge.open(`ws://${url.host}/`)
    const vars = Object.fromEntries(
      Object.entries(workerOptions.bindings ?? {}).filter(([, value]) => typeof value === 'string'),
    ) as Partial<Bindings>
    const names = (record: object | undefined) => Object.keys(record ?? {})
    const env = { ...vars } as Record<string, unknown>
    for (const name of names(workerOptions.kvNamespaces)) env[name] = bridgeKv(bridge, name)
    for (const name of names(workerOptions.d1Databases)) env[name] = bridgeD1(bridge, name)
    for (const name of names(workerOptions.queueProducers)) env[name] = bridgeQueue(bridge, name)
    return {
      mode,
      env: counted(env as unknown as Bindings, calls),
      calls,
      consumers,
      dispose: async () => {
        bridge.close()
        await mf.dispose()
      },
    }
  } catch (error) {
    await mf.dispose()
    throw error
  }
}

/** Applies migrations/*.sql in order through the binding (split as `wrangler d1 migrations apply` splits them). */
export async function applyMigrations(db: D1Database, dir: string): Promise<string[]> {
  const { unstable_splitSqlQuery } = await import('wrangler')
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
  for (const file of files) {
    const statements = unstable_splitSqlQuery(readFileSync(join(dir, file), 'utf8'))
    await db.batch(statements.map((sql) => db.prepare(sql)))
  }
  return files
}
