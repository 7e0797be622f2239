/**
 * The router as the bench serves it: the Worker's own entry point (src/index.ts)
 * with counters on its bindings, for the cost table. The counters (a proxy per
 * binding call and per SQL statement) are off unless `POST /__bench/counting on`
 * turns them on, so the CPU rounds run the router as deployed, as the floor runs
 * without them. `BENCH_CONSUMER=ack` makes the queue handler only ack (the ingest
 * runs, where the floor's consumer also only acks). `GET /__bench/counts` answers the counts.
 */
import type { Bindings } from '../../src/env'
import router, { LedgerShard as RouterShard } from '../../src/index'

// The router's other Durable Object classes, served as they are.
export { DestinationGate, OperationsLog, ReplayRunner } from '../../src/index'

import type { QueuedDeliveryMessage } from '../../src/queue/message'

type BenchBindings = Bindings & { BENCH_CONSUMER?: string }
const counts: Record<string, number> = {}
const count = (name: string, n = 1) => {
  counts[name] = (counts[name] ?? 0) + n
}
/** Set in this isolate by `/__bench/counting`, and in each shard's by its `benchCounting` call. */
let counting = false

// Every console line is one Workers Logs event (billed): counted as the router writes them.
for (const level of ['log', 'info', 'warn', 'error'] as const) {
  const write = console[level].bind(console)
  console[level] = (...args: unknown[]) => {
    if (counting) count('log.lines')
    write(...args)
  }
}

/** Counts calls of the named methods of a binding. */
function counted<T extends object>(target: T, prefix: string, methods: readonly string[]): T {
  return new Proxy(target, {
    get(object, key) {
      const value = Reflect.get(object, key)
      if (typeof value !== 'function') return value
      if (typeof key === 'string' && methods.includes(key)) {
        return (...args: unknown[]) => {
          count(`${prefix}.${key}`, key === 'sendBatch' ? (args[0] as unknown[]).length : 1)
          return value.apply(object, args)
        }
      }
      return value.bind(object)
    },
  })
}

/** Counts every call to a Durable Object of `namespace` as one request, as they are billed. */
function countedRequests<N extends object>(namespace: N): N {
  return new Proxy(namespace, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key)
      if (typeof value !== 'function') return value
      if (key !== 'get') return value.bind(target)
      return (...args: unknown[]) => {
        const stub: DurableObjectStub = Reflect.apply(value, target, args)
        return new Proxy(stub, {
          get(object, method) {
            const call = Reflect.get(object, method)
            if (typeof call !== 'function') return call
            return (...callArgs: unknown[]) => {
              count('do.requests')
              return Reflect.apply(call, object, callArgs)
            }
          },
        })
      }
    },
  })
}

function countedEnv(env: Bindings): Bindings {
  return {
    ...env,
    CONFIG: counted(env.CONFIG, 'kv', ['get', 'put', 'delete', 'list']),
    PARTNER_STATE: counted(env.PARTNER_STATE, 'kv', ['get', 'put', 'delete', 'list']),
    DELIVERY_QUEUE: counted(env.DELIVERY_QUEUE, 'queue', ['send', 'sendBatch']),
    LEDGER: countedRequests(env.LEDGER),
    // The destination gates are Durable Object requests too (one per destination per batch).
    GATES: countedRequests(env.GATES),
  }
}

/**
 * The ledger shard with its SQL counted while counting is on: rows read and written,
 * as Durable Objects bill them. The shard keeps its SqlStorage in `sql` (set in its constructor).
 */
export class LedgerShard extends RouterShard {
  private readonly counts: Record<string, number> = {}

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    const sql = ctx.storage.sql
    const add = (name: string, n: number) => {
      this.counts[name] = (this.counts[name] ?? 0) + n
    }
    let last: SqlStorageCursor<Record<string, SqlStorageValue>> | undefined
    const settle = () => {
      if (last) {
        add('sql.rowsRead', last.rowsRead)
        add('sql.rowsWritten', last.rowsWritten)
      }
      last = undefined
    }
    const counted = new Proxy(sql, {
      get(target, key) {
        if (key !== 'exec') return Reflect.get(target, key)
        return (query: string, ...bindings: unknown[]) => {
          settle() // the statement before has been read to its end by now
          last = target.exec(query, ...bindings)
          queueMicrotask(settle)
          return last
        }
      },
    })
    Object.defineProperty(this, 'sql', { get: () => (counting ? counted : sql) })
  }

  benchCounts(): Record<string, number> {
    return this.counts
  }

  benchCounting(on: boolean): void {
    counting = on
  }
}

type BenchShard = {
  benchCounts(): Promise<Record<string, number>>
  benchCounting(on: boolean): Promise<void>
}
const shardsOf = (env: Bindings) =>
  Array.from(
    { length: Number(env.LEDGER_SHARDS) },
    (_, index) => env.LEDGER.get(env.LEDGER.idFromName(`shard-${index}`)) as unknown as BenchShard,
  )

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url)
    if (pathname === '/__bench/counting') {
      counting = (await request.text()) === 'on'
      for (const shard of shardsOf(env)) await shard.benchCounting(counting)
      return Response.json({ counting })
    }
    if (pathname === '/__bench/counts') {
      const sql: Record<string, number> = {}
      for (const shard of shardsOf(env)) {
        for (const [key, value] of Object.entries(await shard.benchCounts()))
          sql[key] = (sql[key] ?? 0) + value
      }
      return Response.json({ ...counts, ...sql })
    }
    return router.fetch(request, counting ? countedEnv(env) : env, ctx)
  },
  queue(batch, env) {
    if (env.BENCH_CONSUMER === 'ack') return batch.ackAll()
    if (!counting) return router.queue(batch, env)
    count('queue.read', batch.messages.length)
    count('worker.invocations')
    return router.queue(batch, countedEnv(env))
  },
} satisfies ExportedHandler<BenchBindings, QueuedDeliveryMessage>
