/**
 * Target 3, measured like the peer (bench/peer/segment.ts): the router's real
 * queue consumer in this Node process, its CPU read with process.cpuUsage,
 * everything else in other processes: local KV, D1 and Queues in a workerd
 * (./bindings.ts), the partner sandbox in the parent. The events are normalised
 * and packed by the router's own ingest code (normalizeEvent, enqueueEvents)
 * before the clock starts, then delivered as the queue would (./queue.ts) to the
 * worker's `queue` export (src/index.ts: `consumeDeliveryBatch` from
 * src/delivery/consumer.ts, behind whatever reading of the message bodies the
 * entry does), retries re-delivered after their delay, until every message is
 * acked; the ledger (the `deliveries` view) then says whether every pair settled.
 *
 *   tsx bench/consumer/node.ts <input.json> <output.json>
 *
 * `npm run bench` runs a bundle of it made at the start of the run (bench/lib/consumer.ts),
 * so edits made in the tree meanwhile do not change what is measured.
 *
 * The consumer's log lines go to stdout (the parent sends them to a file): they
 * are the consumer's work too.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { RecordedRequest } from '../../sandbox/core'
import { validateConfig } from '../../src/config/schema'
import { saveConfig } from '../../src/config/store'
import type { Bindings } from '../../src/env'
import worker from '../../src/index'
import { normalizeEvent } from '../../src/ingest/normalize'
import { enqueueEvents } from '../../src/queue/produce'
import type { SegmentEvent } from '../../src/segment/schema'
import { benchConfig, DELIVERY_SOURCE, partnerDestinations } from '../lib/config'
import {
  DESTINATIONS,
  type LedgerSummary,
  requestsByRoute,
  type StatsRow,
  summarizeLedger,
} from '../lib/delivery'
import { chunk, EventFactory, makeUsers, mixedStream, type RawEvent } from '../lib/events'
import { applyMigrations, type BindingCalls, type BindingMode, openBindings } from './bindings'
import { emptyStats, LocalQueue, type QueueStats, type StoredBody, storedBody } from './queue'

/** A delivery queue message's body as the router's producer sends it and its `queue` export reads it. */
type QueuedBody =
  Parameters<NonNullable<(typeof worker)['queue']>>[0] extends MessageBatch<infer Body> ? Body : never
type QueueHandler = (batch: MessageBatch<QueuedBody>, env: Bindings, ctx: ExecutionContext) => Promise<void>

export interface ConsumerRunInput {
  /** Where wrangler.toml (the bindings) and migrations/ are read from. */
  root: string
  sandboxUrl: string
  /** The sandbox tenant of the measured source; the warm-up uses `<tenant>warm`. */
  tenant: string
  /** The delivery stream (JSON array of raw events, as sent to /v1/batch). */
  eventsFile: string
  /** Users of the stream (bench/lib/events makeUsers), for the second pass. */
  users: number
  runId: string
  persistDir: string
  bindings: BindingMode
  /** Events of the warm-up (other users, another source and tenant); 0 = none. */
  warmupEvents: number
  /** Only the first `maxEvents` of the stream (default: all). */
  maxEvents?: number
  secondPass: boolean
  http: HttpClient
}

/**
 * The HTTP client of the consumer's partner requests (its global `fetch`). `peer`: the
 * Segment engine's own (node-fetch 2 via cross-fetch, from bench/'s @segment/actions-core),
 * the client section 6 measures the peer with, so both sides pay the same HTTP stack.
 * `node`: Node's built-in fetch (undici). On Workers, fetch is the runtime's native client.
 */
export type HttpClient = 'peer' | 'node'

export interface ConsumerPass {
  events: number
  messages: number
  routedPairs: number
  deliveredPairs: number
  cpuMs: number
  cpuUsPerRoutedPair: number
  cpuUsPerDeliveredPair: number
  cpuUsPerEvent: number
  wallMs: number
  deliveredEventsPerSecond: number
  /** Every routed pair delivered, dropped or failed in the ledger, none retrying. */
  settled: boolean
  /** This pass's pairs (the ledger after it, minus before it). */
  ledger: LedgerSummary
  partnerRequests: number
  requestsByRoute: Record<string, Record<string, number>>
  partnerStatuses: Record<string, number>
  queue: Omit<QueueStats, 'retryDelays'> & { retryDelaySeconds: { min: number; max: number } | null }
  bindingCalls: BindingCalls
}

export interface ConsumerRunResult {
  bindings: BindingMode
  http: HttpClient
  /** The consumer settings of wrangler.toml the local queue used. */
  queue: { name: string; maxBatchSize: number; maxRetries: number }
  node: string
  /** Globals the router uses that this Node lacks, installed by the harness. */
  polyfills: string[]
  migrations: string[]
  warmup: { events: number; cpuMs: number; wallMs: number }
  first: ConsumerPass
  second: ConsumerPass | null
}

const WARMUP_SOURCE = { name: 'bench-warmup', writeKey: 'wk_bench_warmup_0001' }

// Map.groupBy (ES2024) is in workerd's V8 but not in Node 20's (V8 11.3); consumer.ts's deliverDue uses it.
const polyfills: string[] = []
if (typeof (Map as { groupBy?: unknown }).groupBy !== 'function') {
  polyfills.push('Map.groupBy')
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value<K, T>(items: Iterable<T>, keyOf: (item: T, index: number) => K): Map<K, T[]> {
      const groups = new Map<K, T[]>()
      let index = 0
      for (const item of items) {
        const key = keyOf(item, index++)
        const group = groups.get(key)
        if (group) group.push(item)
        else groups.set(key, [item])
      }
      return groups
    },
  })
}

const [inputFile, outputFile] = process.argv.slice(2)
if (!inputFile || !outputFile) throw new Error('usage: node.ts <input.json> <output.json>')
const input = JSON.parse(readFileSync(inputFile, 'utf8')) as ConsumerRunInput
if (input.http === 'peer') {
  // Resolved from this file's place: bench/consumer/, or the run's bundle under bench/node_modules/.cache.
  const require = createRequire(import.meta.url)
  const engine = require(join(dirname(require.resolve('@segment/actions-core')), 'fetch.js')) as {
    default: typeof fetch
  }
  globalThis.fetch = engine.default
}
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(input.sandboxUrl))
  throw new Error(`sandbox must be on loopback: ${input.sandboxUrl}`)

const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

/** The Tracking API's work before the queue, with the router's own code: each 20-event request normalised and packed. */
async function pack(source: string, events: readonly RawEvent[]): Promise<StoredBody[]> {
  const bodies: StoredBody[] = []
  const queue = {
    async send(body: unknown, options?: QueueSendOptions) {
      bodies.push(storedBody(body, options?.contentType))
    },
    async sendBatch(messages: Iterable<MessageSendRequest<unknown>>) {
      for (const message of messages) bodies.push(storedBody(message.body, message.contentType))
    },
  } as unknown as Parameters<typeof enqueueEvents>[0]
  for (const batch of chunk(events, 20)) {
    const now = new Date().toISOString()
    const accepted: SegmentEvent[] = []
    const sizes: number[] = []
    for (const [index, raw] of batch.entries()) {
      const outcome = normalizeEvent(raw, {
        source,
        now,
        times: 'tracking',
        path: `batch.${index}`,
        defaults: { sentAt: now },
      })
      if (!outcome.ok) throw new Error(`event ${raw.messageId} rejected: ${JSON.stringify(outcome.issues)}`)
      accepted.push(outcome.event)
      sizes.push(outcome.bytes)
    }
    await enqueueEvents(queue, source, accepted, undefined, sizes)
  }
  return bodies
}

/** Other users (ids, emails, groups), so the warm-up leaves no partner state behind for the measured ones. */
function warmupStream(count: number): RawEvent[] {
  const users = makeUsers(Math.max(10, Math.round(count / 25)), 11).map((user) => ({
    ...user,
    userId: `warm_${user.userId}`,
    anonymousId: `warm-${user.anonymousId}`,
    email: `warm.${user.email}`,
    groupId: `warm_${user.groupId}`,
  }))
  return mixedStream(count, users, 5, `${input.runId}-warm`)
}

const SETTLED = new Set(['delivered', 'dropped', 'failed'])

async function ledgerSummary(db: D1Database, source: string): Promise<LedgerSummary> {
  const { results } = await db
    .prepare(
      `SELECT destination, status, reason, COUNT(*) AS count FROM deliveries WHERE source = ?
       GROUP BY destination, status, reason`,
    )
    .bind(source)
    .all<StatsRow>()
  return summarizeLedger(results)
}

/** `after − before`, count by count (a pair that moved from retrying to delivered leaves a negative retrying). */
function ledgerDelta(after: LedgerSummary, before: LedgerSummary): LedgerSummary {
  const minus = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      [...new Set([...Object.keys(a), ...Object.keys(b)])]
        .map((key) => [key, (a[key] ?? 0) - (b[key] ?? 0)] as const)
        .filter(([, count]) => count !== 0),
    )
  return {
    pairs: after.pairs - before.pairs,
    byStatus: minus(after.byStatus, before.byStatus),
    byDestination: Object.fromEntries(
      Object.keys(after.byDestination).map((destination) => [
        destination,
        minus(after.byDestination[destination] ?? {}, before.byDestination[destination] ?? {}),
      ]),
    ),
    reasons: minus(after.reasons, before.reasons),
  }
}

async function sandboxRequests(tenant: string): Promise<RecordedRequest[]> {
  const response = await fetch(`${input.sandboxUrl}/__sandbox/t/${tenant}/requests`)
  if (!response.ok) throw new Error(`sandbox requests: ${response.status}`)
  return (await response.json()) as RecordedRequest[]
}

/**
 * BENCH_CONSUMER_PROFILE=<dir>: a V8 CPU profile of each measured pass (this thread only), for finding
 * where the consumer's time goes. Not used by `npm run bench`.
 */
async function startProfiler() {
  const dir = process.env.BENCH_CONSUMER_PROFILE
  if (!dir) return undefined
  const { Session } = await import('node:inspector/promises')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    async stop(name: string) {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
      session.disconnect()
    },
  }
}
let passes = 0

const bindings = await openBindings(input.bindings, join(input.root, 'wrangler.toml'), input.persistDir)
try {
  const { env } = bindings
  const migrations = await applyMigrations(env.LEDGER, join(input.root, 'migrations'))
  // The config document the bench PUTs on /admin/config, stored as that route stores it, plus the warm-up's source.
  const document = {
    sources: [
      ...benchConfig(input.sandboxUrl, input.tenant).sources,
      { ...WARMUP_SOURCE, destinations: partnerDestinations(input.sandboxUrl, `${input.tenant}warm`) },
    ],
  }
  const validated = validateConfig(document)
  if (!validated.ok) throw new Error(`bench config invalid: ${JSON.stringify(validated.issues)}`)
  await saveConfig(env, document, validated.config)

  // The platform's call: the worker's `queue` export with the env and an execution context whose
  // waitUntil work is awaited before the batch counts as handled.
  const handler = worker.queue as unknown as QueueHandler
  // The worker consumes one queue (wrangler.toml): its batch size and retry limit are the local queue's.
  const [consumer] = bindings.consumers
  if (!consumer || bindings.consumers.length !== 1)
    throw new Error('wrangler.toml should declare exactly one queue consumer')
  const queue = new LocalQueue<QueuedBody>(
    async (batch) => {
      const pending: Promise<unknown>[] = []
      const ctx = {
        waitUntil: (promise: Promise<unknown>) => void pending.push(promise),
        passThroughOnException: () => {},
        props: {},
      } as unknown as ExecutionContext
      await handler(batch, env, ctx)
      await Promise.allSettled(pending)
    },
    { name: consumer.queue, maxBatchSize: consumer.maxBatchSize, maxRetries: consumer.maxRetries },
  )

  const warmEvents = input.warmupEvents > 0 ? warmupStream(input.warmupEvents) : []
  const warmStart = process.cpuUsage()
  const warmWall = performance.now()
  queue.push(await pack(WARMUP_SOURCE.name, warmEvents))
  await queue.drain()
  const warmup = {
    events: warmEvents.length,
    cpuMs: cpuMsSince(warmStart),
    wallMs: performance.now() - warmWall,
  }

  const allEvents = JSON.parse(readFileSync(input.eventsFile, 'utf8')) as RawEvent[]
  const events = allEvents.slice(0, input.maxEvents ?? allEvents.length)

  const measure = async (list: readonly RawEvent[], expectedPairs: number): Promise<ConsumerPass> => {
    const bodies = await pack(DELIVERY_SOURCE.name, list)
    const ledgerBefore = await ledgerSummary(env.LEDGER, DELIVERY_SOURCE.name)
    const requestsBefore = (await sandboxRequests(input.tenant)).length
    const callsBefore = { ...bindings.calls }
    queue.stats = emptyStats()
    const profiler = await startProfiler()
    const cpuStart = process.cpuUsage()
    const wallStart = performance.now()
    queue.push(bodies)
    await queue.drain()
    const cpuMs = cpuMsSince(cpuStart)
    const wallMs = performance.now() - wallStart
    await profiler?.stop(`pass${++passes}`)
    const calls = Object.fromEntries(
      Object.entries(bindings.calls).map(([key, value]) => [
        key,
        value - callsBefore[key as keyof BindingCalls],
      ]),
    ) as unknown as BindingCalls
    const ledgerAfter = await ledgerSummary(env.LEDGER, DELIVERY_SOURCE.name)
    const ledger = ledgerDelta(ledgerAfter, ledgerBefore)
    const requests = (await sandboxRequests(input.tenant)).slice(requestsBefore)
    const settledTotal = Object.entries(ledgerAfter.byStatus).reduce(
      (sum, [status, count]) => sum + (SETTLED.has(status) ? count : 0),
      0,
    )
    const routedPairs = list.length * DESTINATIONS.length
    const deliveredPairs = ledger.byStatus.delivered ?? 0
    const partnerStatuses: Record<string, number> = {}
    for (const request of requests)
      partnerStatuses[String(request.status)] = (partnerStatuses[String(request.status)] ?? 0) + 1
    const { retryDelays, ...stats } = queue.stats
    return {
      events: list.length,
      messages: bodies.length,
      routedPairs,
      deliveredPairs,
      cpuMs,
      cpuUsPerRoutedPair: (cpuMs * 1000) / routedPairs,
      cpuUsPerDeliveredPair: (cpuMs * 1000) / Math.max(1, deliveredPairs),
      cpuUsPerEvent: (cpuMs * 1000) / list.length,
      wallMs,
      deliveredEventsPerSecond: list.length / (wallMs / 1000),
      settled: settledTotal === expectedPairs && ledgerAfter.pairs === expectedPairs,
      ledger,
      partnerRequests: requests.length,
      requestsByRoute: requestsByRoute(requests),
      partnerStatuses,
      queue: {
        ...stats,
        retryDelaySeconds:
          retryDelays.length > 0 ? { min: Math.min(...retryDelays), max: Math.max(...retryDelays) } : null,
      },
      bindingCalls: calls,
    }
  }

  const first = await measure(events, events.length * DESTINATIONS.length)
  let second: ConsumerPass | null = null
  if (input.secondPass) {
    // Steady state, as bench/run.ts's delivery run: every identified user identified again, one trait changed.
    const identified = new Set(
      events.filter((event) => event.type === 'identify' && event.userId).map((event) => event.userId),
    )
    const factory = new EventFactory(99, `${input.runId}-again`)
    const again = makeUsers(input.users)
      .filter((user) => identified.has(user.userId))
      .map((user, index) => factory.identify(user, Date.now() - 1000 + index, { loginsBump: 1 }))
    second = await measure(again, (events.length + again.length) * DESTINATIONS.length)
  }

  const result: ConsumerRunResult = {
    bindings: bindings.mode,
    http: input.http,
    queue: { name: consumer.queue, maxBatchSize: consumer.maxBatchSize, maxRetries: consumer.maxRetries },
    node: process.version,
    polyfills,
    migrations,
    warmup,
    first,
    second,
  }
  writeFileSync(outputFile, `${JSON.stringify(result, null, 2)}\n`)
} finally {
  await bindings.dispose()
}
