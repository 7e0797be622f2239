/**
 * `npm run bench`: every measurement of the router in one bounded, loopback-only
 * run, then bench/results.json and bench/RESULTS.md. See bench/README.md.
 *
 * Order: in-process CPU work first (quiet machine), then the peer engine, then
 * the workers under `wrangler dev` (ingest load, scaling in workerd), then the
 * delivery run on the counted router. Every process started here is stopped here.
 */

import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { startSandbox } from '../sandbox/server'
import { MAX_REQUEST_BYTES } from '../src/ingest/limits'
import { basicAuth, benchConfig, INGEST_SOURCE } from './lib/config'
import { buildConsumer, type ConsumerBuild, runConsumerInNode } from './lib/consumer'
import { costPerMillionEvents, PRICES, type PriceKey } from './lib/cost'
import { DESTINATIONS, PARTNER_OF, requestsByRoute, runPass } from './lib/delivery'
import { batchBody, chunk, EventFactory, makeUsers, mixedStream, type RawEvent } from './lib/events'
import { type LoadResult, runLoad } from './lib/load'
import { commandLine, cpuMs, descendants, killAllChildren, memory, sleep } from './lib/procs'
import { renderReport, type Target } from './lib/report'
import { startSink } from './lib/sink'
import {
  applyMigrations,
  buildWorker,
  type DevWorker,
  ROOT,
  snapshotMigrations,
  startDev,
} from './lib/wrangler'
import type { ModeResult } from './peer/segment'

const BENCH = join(ROOT, 'bench')
/** Bundles, local state and logs of one run: inside bench's node_modules, so neither git nor Biome sees them. */
const RUN = join(BENCH, 'node_modules', '.cache', 'bench-run')
const LOG = join(RUN, 'bench.log')
const ADMIN_TOKEN = `bench-${Date.now().toString(36)}`
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 3)
const DELIVERY_EVENTS = Number(process.env.BENCH_DELIVERY_EVENTS ?? 10_000)
const USERS = 400
/** Events of the consumer-in-Node run with Node's built-in fetch (context only, so a part of the stream). */
const BUILTIN_FETCH_EVENTS = 4000
const startedAt = Date.now()

const cleanup = () => killAllChildren()
process.on('exit', cleanup)
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    cleanup()
    process.exit(130)
  })

function say(message: string): void {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)
  process.stdout.write(`[bench ${seconds}s] ${message}\n`)
}

/** Runs a Node child (tsx) and parses the JSON line it prints. */
function runJson(args: string[], label: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (data) => {
      out += data
    })
    child.stderr.on('data', (data) => {
      err += data
    })
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${label} failed (${code}): ${err.slice(-2000)}`))
      else {
        try {
          resolve(JSON.parse(out.trim().split('\n').at(-1) ?? ''))
        } catch {
          reject(new Error(`${label} printed no JSON: ${out.slice(-500)} ${err.slice(-1000)}`))
        }
      }
    })
  })
}

/** The binding-defining lines of a wrangler.toml, to check two configs bind the same resources. */
function bindingLines(toml: string): string {
  return toml
    .split('\n')
    .map((line) => line.trim())
    .filter((line) =>
      /^(\[\[|binding|id|database_name|database_id|queue|max_batch|max_retries|dead_letter)/.test(line),
    )
    .join('\n')
}

function versionOf(path: string): string {
  try {
    return (JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function gitDescribe(): string {
  try {
    const head = readFileSync(join(ROOT, '.git', 'HEAD'), 'utf8').trim()
    if (!head.startsWith('ref: ')) return head.slice(0, 12)
    const ref = head.slice(5)
    return `${ref.replace('refs/heads/', '')} @ ${readFileSync(join(ROOT, '.git', ref), 'utf8')
      .trim()
      .slice(0, 12)}`
  } catch {
    return 'unknown'
  }
}

// ---------------------------------------------------------------- workload

const users = makeUsers(USERS)
const ingestEvents = mixedStream(1280, users, 3, `ingest-${Date.now().toString(36)}`)
const ingestBatches = chunk(ingestEvents, 20).map((batch) => batchBody(batch))
const singleFactory = new EventFactory(4, `single-${Date.now().toString(36)}`)
const singleBodies = Array.from({ length: 64 }, (_, index) =>
  JSON.stringify(singleFactory.ecommerce(users[index % users.length] as (typeof users)[number], Date.now())),
)
const deliveryRun = `dl-${Date.now().toString(36)}`
const deliveryEvents = mixedStream(DELIVERY_EVENTS, users, 21, deliveryRun)
const averageBatchBytes =
  ingestBatches.reduce((sum, body) => sum + Buffer.byteLength(body), 0) / ingestBatches.length

// ---------------------------------------------------------------- phases

async function pureCpu() {
  say('target 2: CPU per event, router pure functions vs plain V8 (in process)')
  return (await runJson(['--import', 'tsx', join(BENCH, 'cpu', 'pure.ts'), '2000', '31'], 'cpu/pure.ts')) as {
    routerUsPerEvent: number
    naiveUsPerEvent: number
    ratio: number
    routerBodies: number
    naiveBodies: number
    routerBytes: number
    naiveBytes: number
    routerRounds: number[]
    naiveRounds: number[]
    /** Router ÷ plain V8, round by round: `ratio` is their median. */
    ratioRounds: number[]
  }
}

async function scalingInProcess() {
  say('target 5: scaling in process (1 … 2,500 events, 500 KB)')
  return (await runJson(
    ['--expose-gc', '--max-semi-space-size=256', '--import', 'tsx', join(BENCH, 'scaling.ts')],
    'scaling.ts',
  )) as {
    results: {
      label: string
      events: number
      bodyBytes: number
      cpuUsPerRequest: number
      cpuUsPerEvent: number
      allocatedBytes: number
    }[]
  }
}

async function peer() {
  say('target 6: Segment destination engine on the same events (in process, loopback sink)')
  const sink = await startSink()
  try {
    const now = new Date().toISOString()
    const events = deliveryEvents.slice(0, 2000).map((event) => ({ ...event, receivedAt: now, sentAt: now }))
    const file = join(RUN, 'peer-events.json')
    writeFileSync(file, JSON.stringify(events))
    return (await runJson(
      ['--import', 'tsx', join(BENCH, 'peer', 'segment.ts'), file, sink.url],
      'peer',
    )) as {
      versions: { actionsCore: string; actionDestinations: string }
      results: ModeResult[]
    }
  } finally {
    await sink.close()
  }
}

async function putConfig(worker: DevWorker, sandboxUrl: string, tenant: string): Promise<void> {
  const response = await fetch(`${worker.socketUrl}/admin/config`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(benchConfig(sandboxUrl, tenant)),
  })
  if (!response.ok) throw new Error(`PUT /admin/config: ${response.status} ${await response.text()}`)
}

interface IngestRun extends LoadResult {
  worker: string
  via: 'socket' | 'proxy'
  route: string
}

/** Two runs of the same load as one: totals summed, p50 averaged, the worse p99 kept. */
function combine(runs: LoadResult[]): LoadResult {
  const [first] = runs
  if (!first) throw new Error('no runs to combine')
  const requests = runs.reduce((sum, run) => sum + run.requests, 0)
  const duration = runs.reduce((sum, run) => sum + run.durationSeconds, 0)
  const sumOf = (pick: (run: LoadResult) => number) => runs.reduce((sum, run) => sum + pick(run), 0)
  const statusCodes: Record<string, number> = {}
  for (const run of runs)
    for (const [code, count] of Object.entries(run.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + count
  const cpuMsPerRequest = Object.fromEntries(
    Object.keys(first.cpuMsPerRequest).map((name) => [
      name,
      sumOf((run) => (run.cpuMsPerRequest[name] ?? 0) * run.requests) / Math.max(1, requests),
    ]),
  )
  return {
    ...first,
    durationSeconds: duration,
    requests,
    requestsPerSecond: requests / duration,
    eventsPerSecond:
      (requests / duration) * (first.eventsPerSecond / Math.max(1e-9, first.requestsPerSecond)),
    latencyP50Ms: sumOf((run) => run.latencyP50Ms) / runs.length,
    latencyP99Ms: Math.max(...runs.map((run) => run.latencyP99Ms)),
    non2xx: sumOf((run) => run.non2xx),
    errors: sumOf((run) => run.errors),
    timeouts: sumOf((run) => run.timeouts),
    statusCodes,
    cpuMsPerRequest,
    machineBusy: sumOf((run) => run.machineBusy * run.durationSeconds) / duration,
  }
}

/** The parse-only runs measured beside the queue floor (kept apart from the target's ABBA runs). */
const FLOOR_REFERENCE = '/v1/batch beside the floor'

/**
 * Router and baseline side by side: for each route, path (socket or dev proxy) and
 * connection count, router, baseline, baseline, router (ABBA, so a drift in the
 * machine's load hits both alike), each run LOAD_SECONDS long, after a warm-up.
 */
async function ingest(router: DevWorker, baseline: DevWorker, fullRouter: DevWorker): Promise<IngestRun[]> {
  say(`target 1: ingest load (${LOAD_SECONDS} s per run, 2 runs per side, 10 and 50 connections, loopback)`)
  const runs: IngestRun[] = []
  const headers = { authorization: basicAuth(INGEST_SOURCE.writeKey), 'content-type': 'application/json' }
  const urlOf = (worker: DevWorker, via: 'socket' | 'proxy', route: string) =>
    `${via === 'socket' ? worker.socketUrl : worker.url}${route}`
  const once = (
    worker: DevWorker,
    via: 'socket' | 'proxy',
    route: string,
    connections: number,
    bodies: string[],
    events: number,
    seconds = LOAD_SECONDS,
  ) =>
    runLoad({
      label: `${worker.name} ${route} ${via} ${connections}c`,
      url: urlOf(worker, via, route),
      connections,
      durationSeconds: seconds,
      bodies,
      headers,
      eventsPerRequest: events,
      pids: { worker: worker.workerPid, proxy: worker.proxyPid },
    })
  const record = (worker: DevWorker, via: 'socket' | 'proxy', route: string, result: LoadResult) => {
    runs.push({ ...result, worker: worker.name, via, route })
    say(
      `  ${result.label}: ${Math.round(result.eventsPerSecond)} events/s, p50 ${result.latencyP50Ms.toFixed(1)} ms, p99 ${result.latencyP99Ms} ms, non-2xx ${result.non2xx}, errors ${result.errors}`,
    )
  }
  const pairs: { route: string; bodies: string[]; events: number }[] = [
    { route: '/v1/batch', bodies: ingestBatches, events: 20 },
    { route: '/v1/t', bodies: singleBodies, events: 1 },
  ]
  for (const pair of pairs) {
    for (const via of ['socket', 'proxy'] as const) {
      // Warm-up: JIT and connections, not measured.
      await once(router, via, pair.route, 10, pair.bodies, pair.events, 1)
      await once(baseline, via, pair.route, 10, pair.bodies, pair.events, 1)
      for (const connections of [10, 50]) {
        const a1 = await once(router, via, pair.route, connections, pair.bodies, pair.events)
        const b1 = await once(baseline, via, pair.route, connections, pair.bodies, pair.events)
        const b2 = await once(baseline, via, pair.route, connections, pair.bodies, pair.events)
        const a2 = await once(router, via, pair.route, connections, pair.bodies, pair.events)
        record(router, via, pair.route, combine([a1, a2]))
        record(baseline, via, pair.route, combine([b1, b2]))
      }
    }
  }
  // The queue floor: the baseline worker parsing alone, then parsing and sending the events,
  // then sending `{}`, interleaved (A B C C B A) so the three see the same machine.
  const floorRoutes = ['/v1/batch', '/enqueue/v1/batch', '/enqueue-empty/v1/batch']
  for (const route of floorRoutes) await once(baseline, 'socket', route, 10, ingestBatches, 20, 1)
  for (const connections of [10, 50]) {
    const byRoute = new Map(floorRoutes.map((route) => [route, [] as LoadResult[]]))
    for (const route of [...floorRoutes, ...[...floorRoutes].reverse()]) {
      byRoute.get(route)?.push(await once(baseline, 'socket', route, connections, ingestBatches, 20))
    }
    for (const [route, pair] of byRoute) {
      record(baseline, 'socket', route === '/v1/batch' ? FLOOR_REFERENCE : route, combine(pair))
    }
  }
  // The router with its real consumer competing in the same process, for the record.
  await once(fullRouter, 'socket', '/v1/batch', 10, ingestBatches, 20, 1)
  for (const connections of [10, 50]) {
    const first = await once(fullRouter, 'socket', '/v1/batch', connections, ingestBatches, 20)
    const second = await once(fullRouter, 'socket', '/v1/batch', connections, ingestBatches, 20)
    record(fullRouter, 'socket', '/v1/batch', combine([first, second]))
  }
  return runs
}

async function scalingInWorkerd(router: DevWorker) {
  say('target 5: scaling in workerd (worker process CPU and memory per request)')
  const results: {
    label: string
    events: number
    bodyBytes: number
    requests: number
    workerCpuMsPerRequest: number
  }[] = []
  const headers = { authorization: basicAuth(INGEST_SOURCE.writeKey), 'content-type': 'application/json' }
  const small = (index: number) => ({
    type: 'track',
    event: 'Product Viewed',
    userId: `u${index % 997}`,
    messageId: `wscale-${Date.now().toString(36)}-${index}`,
    timestamp: '2026-01-01T00:00:00.000Z',
    properties: { product_id: `sku-${index % 500}`, price: 9.99 },
  })
  // The largest allowed request: realistic events up to 500 KB.
  const largest: RawEvent[] = []
  let largestBytes = Buffer.byteLength(batchBody([]))
  for (const event of deliveryEvents) {
    largestBytes += Buffer.byteLength(JSON.stringify(event)) + 1
    if (largestBytes > MAX_REQUEST_BYTES - 1024) break
    largest.push(event)
  }
  const cases = [
    ...[1, 10, 100, 1000, 2500].map((size) => ({
      label: `${size} small event${size === 1 ? '' : 's'}`,
      events: Array.from({ length: size }, (_, index) => small(index)) as RawEvent[],
    })),
    { label: `500 KB request (${largest.length} realistic events)`, events: largest },
  ]
  const rssBefore = memory(router.workerPid)
  for (const { label, events } of cases) {
    const size = events.length
    const body = batchBody(events)
    const requests = Math.max(4, Math.min(200, Math.round(4000 / size)))
    const send = async () => {
      const response = await fetch(`${router.socketUrl}/v1/batch`, { method: 'POST', headers, body })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`scaling ${size}: ${response.status}`)
    }
    for (let index = 0; index < 3; index += 1) await send()
    const start = cpuMs(router.workerPid)
    for (let index = 0; index < requests; index += 1) await send()
    results.push({
      label,
      events: size,
      bodyBytes: Buffer.byteLength(body),
      requests,
      workerCpuMsPerRequest: (cpuMs(router.workerPid) - start) / requests,
    })
  }
  await sleep(1500) // let the consumer drain what was queued
  return { results, rssBefore, rssAfter: memory(router.workerPid) }
}

interface Counters {
  invocations: number
  kv: { reads: number; writes: number; deletes: number; lists: number; byNamespace: Record<string, unknown> }
  d1: { queries: number; batches: number; rowsRead: number; rowsWritten: number }
  queues: {
    messagesSent: number
    messagesDelivered: number
    messagesAcked: number
    messagesRetried: number
    bytesSent: number
    writeOps: number
    readOps: number
    deleteOps: number
  }
  subrequests: { total: number; byHost: Record<string, number> }
}

async function counters(worker: DevWorker): Promise<Record<'ingest' | 'consumer' | 'admin', Counters>> {
  const response = await fetch(`${worker.socketUrl}/__bench/counters`)
  return (await response.json()) as Record<'ingest' | 'consumer' | 'admin', Counters>
}

async function delivery(worker: DevWorker, sandboxUrl: string, tenant: string) {
  say(`target 3: ${deliveryEvents.length} mixed events through the queue consumer to the partner sandbox`)
  await fetch(`${worker.socketUrl}/__bench/counters/reset`, { method: 'POST' })
  const since = Date.now() - 1000
  /** Every queue message the Tracking API sent has been acked by the consumer (retries come back first). */
  const drained = async () => {
    const counts = await counters(worker)
    return counts.consumer.queues.messagesAcked >= counts.ingest.queues.messagesSent
  }
  const first = await runPass({
    worker,
    adminToken: ADMIN_TOKEN,
    sandboxUrl,
    tenant,
    events: deliveryEvents,
    since,
    expectedPairs: deliveryEvents.length * DESTINATIONS.length,
    timeoutMs: 300_000,
    drained,
  })
  say(
    `  first pass: ${first.ledger.pairs} pairs settled=${first.settled} in ${(first.wallMs / 1000).toFixed(1)} s, ${first.requests.length} partner requests`,
  )
  // Steady state: every user identified again, one custom trait changed (as a later session would).
  const identified = new Set(
    deliveryEvents.filter((event) => event.type === 'identify' && event.userId).map((event) => event.userId),
  )
  const factory = new EventFactory(99, `${deliveryRun}-again`)
  const again = users
    .filter((user) => identified.has(user.userId))
    .map((user, index) => factory.identify(user, Date.now() - 1000 + index, { loginsBump: 1 }))
  const second = await runPass({
    worker,
    adminToken: ADMIN_TOKEN,
    sandboxUrl,
    tenant,
    events: again,
    since,
    expectedPairs: (deliveryEvents.length + again.length) * DESTINATIONS.length,
    timeoutMs: 120_000,
    drained,
  })
  say(
    `  second pass (identifies again): settled=${second.settled} in ${(second.wallMs / 1000).toFixed(1)} s, ${second.requests.length} partner requests`,
  )
  return { first, second, counters: await counters(worker) }
}

/**
 * Target 3 on the peer's terms: the same events through the router's consumer in a Node child
 * (bench/consumer/node.ts), its own process CPU, local KV/D1/Queues in another process.
 */
async function consumerInNode(build: ConsumerBuild, sandboxUrl: string, tenant: string) {
  say(`target 3: the consumer alone in a Node process (${deliveryEvents.length} events, CPU of that process)`)
  const result = await runConsumerInNode({
    dir: join(RUN, 'consumer-node'),
    build,
    sandboxUrl,
    tenant,
    events: deliveryEvents,
    users: USERS,
    runId: deliveryRun,
    warmupEvents: 1000,
    secondPass: true,
  })
  const { first, second } = result
  say(
    `  first pass: ${first.ledger.pairs} pairs settled=${first.settled}, ${Math.round(first.cpuUsPerRoutedPair)} µs CPU per routed pair, ${Math.round(first.cpuUsPerDeliveredPair)} per delivered, ${first.partnerRequests} partner requests, ${(first.wallMs / 1000).toFixed(1)} s`,
  )
  if (second)
    say(
      `  second pass: settled=${second.settled}, ${Math.round(second.cpuUsPerRoutedPair)} µs CPU per routed pair, ${second.partnerRequests} partner requests`,
    )
  // Context: what the HTTP client alone changes. Same code and events (fewer), Node's own fetch.
  const builtin = await runConsumerInNode({
    dir: join(RUN, 'consumer-node-builtin-fetch'),
    build,
    sandboxUrl,
    tenant: `${tenant}b`,
    events: deliveryEvents,
    users: USERS,
    runId: `${deliveryRun}-b`,
    warmupEvents: 500,
    maxEvents: BUILTIN_FETCH_EVENTS,
    secondPass: false,
    http: 'node',
  })
  say(
    `  with Node's built-in fetch, first ${BUILTIN_FETCH_EVENTS} events: ${Math.round(builtin.first.cpuUsPerRoutedPair)} µs CPU per routed pair`,
  )
  return { ...result, builtinFetch: builtin.first }
}

// ---------------------------------------------------------------- main

async function main() {
  rmSync(RUN, { recursive: true, force: true })
  mkdirSync(RUN, { recursive: true })
  const machine = {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
    node: process.version,
    wrangler: versionOf(join(ROOT, 'node_modules', 'wrangler')),
    workerd: versionOf(join(ROOT, 'node_modules', 'workerd')),
    hono: versionOf(join(ROOT, 'node_modules', 'hono')),
    valibot: versionOf(join(ROOT, 'node_modules', 'valibot')),
    autocannon: versionOf(join(BENCH, 'node_modules', 'autocannon')),
    commit: gitDescribe(),
  }

  say('building snapshots of the router, the baseline and the counted router (wrangler deploy --dry-run)')
  const [routerBuild, ingestBuild, baselineBuild, countedBuild] = await Promise.all([
    buildWorker('router+consumer', join(ROOT, 'wrangler.toml'), join(RUN, 'router'), LOG),
    buildWorker('router', join(BENCH, 'ingest', 'wrangler.toml'), join(RUN, 'ingest'), LOG),
    buildWorker('baseline', join(BENCH, 'baseline', 'wrangler.toml'), join(RUN, 'baseline'), LOG),
    buildWorker('counted router', join(BENCH, 'instrumented', 'wrangler.toml'), join(RUN, 'counted'), LOG),
  ])
  // The bench entries run with the router's own config (same bindings and queue), next to their bundles.
  const routerToml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
  const bindingDrift =
    bindingLines(readFileSync(join(BENCH, 'instrumented', 'wrangler.toml'), 'utf8')) !==
    bindingLines(routerToml)
  if (bindingDrift)
    say('warning: bench/instrumented/wrangler.toml bindings differ from wrangler.toml; using wrangler.toml')
  writeFileSync(countedBuild.config, routerToml)
  writeFileSync(ingestBuild.config, routerToml)
  for (const build of [routerBuild, ingestBuild, countedBuild]) snapshotMigrations(build)
  const consumerBuild = await buildConsumer(join(RUN, 'consumer-build'))

  const pure = await pureCpu()
  const scaling = await scalingInProcess()
  const peerResults = await peer()

  const sandbox = await startSandbox(0)
  const tenant = `bench${Date.now().toString(36)}`
  let ingestRuns: IngestRun[] = []
  let workerdScaling: Awaited<ReturnType<typeof scalingInWorkerd>>
  let deliveryResult: Awaited<ReturnType<typeof delivery>>
  let nodeConsumer: Awaited<ReturnType<typeof consumerInNode>> | { error: string }
  try {
    say(
      'starting the router (ingest entry), the router with its consumer and the baseline under wrangler dev',
    )
    await Promise.all([
      applyMigrations(routerBuild, join(RUN, 'router-state'), LOG),
      applyMigrations(ingestBuild, join(RUN, 'ingest-state'), LOG),
    ])
    const [router, fullRouter, baseline] = await Promise.all([
      startDev(ingestBuild, {
        persistTo: join(RUN, 'ingest-state'),
        vars: { ADMIN_TOKEN },
        logFile: join(RUN, 'ingest.log'),
      }),
      startDev(routerBuild, {
        persistTo: join(RUN, 'router-state'),
        vars: { ADMIN_TOKEN },
        logFile: join(RUN, 'router.log'),
      }),
      startDev(baselineBuild, { persistTo: join(RUN, 'baseline-state'), logFile: join(RUN, 'baseline.log') }),
    ])
    try {
      await putConfig(router, sandbox.url, tenant)
      await putConfig(fullRouter, sandbox.url, tenant)
      ingestRuns = await ingest(router, baseline, fullRouter)
      workerdScaling = await scalingInWorkerd(router)
    } finally {
      await Promise.all([router.stop(), fullRouter.stop(), baseline.stop()])
    }

    say('starting the counted router (bench/instrumented) for the delivery run')
    await applyMigrations(countedBuild, join(RUN, 'counted-state'), LOG)
    const counted = await startDev(countedBuild, {
      persistTo: join(RUN, 'counted-state'),
      vars: { ADMIN_TOKEN },
      logFile: join(RUN, 'counted.log'),
    })
    try {
      await putConfig(counted, sandbox.url, tenant)
      deliveryResult = await delivery(counted, sandbox.url, tenant)
    } finally {
      await counted.stop()
    }
    // Its own child and state; a failure here leaves target 3 unmeasured, not the whole run lost.
    nodeConsumer = await consumerInNode(consumerBuild, sandbox.url, `${tenant}node`).catch(
      (error: unknown) => {
        say(`  the consumer in Node failed: ${(error as Error).message.split('\n')[0]}`)
        return { error: String((error as Error).message ?? error) }
      },
    )
  } finally {
    await sandbox.close()
  }

  await sleep(500)
  // tsx's own esbuild service is the runtime's, not something this run started.
  const leftovers = descendants(process.pid)
    .map((pid) => ({ pid, command: commandLine(pid) }))
    .filter((entry) => entry.command !== '' && !entry.command.includes('esbuild --service'))

  // ------------------------------------------------------------ target 1
  const find = (worker: string, route: string, via: string, connections: number) =>
    ingestRuns.find(
      (run) =>
        run.worker === worker && run.route === route && run.via === via && run.connections === connections,
    )
  const targets: Target[] = []
  const ingestRows: Record<string, unknown>[] = []
  for (const route of ['/v1/batch', '/v1/t']) {
    for (const via of ['socket', 'proxy'] as const) {
      for (const connections of [10, 50]) {
        const router = find('router', route, via, connections)
        const baseline = find('baseline', route, via, connections)
        if (!router || !baseline) continue
        const ratio = router.eventsPerSecond / baseline.eventsPerSecond
        targets.push({
          name: `ingest ${route} ${via === 'socket' ? "worker's socket" : 'wrangler dev URL'}, ${connections} conn: router / baseline events/s`,
          value: Number(ratio.toFixed(3)),
          unit: '×',
          target: '≥ 0.8 and 0 non-2xx',
          met: ratio >= 0.8 && router.non2xx === 0 && router.errors === 0,
        })
        ingestRows.push({ route, via, connections, router, baseline, ratio })
      }
    }
  }
  const routerRuns = ingestRuns.filter((run) => run.worker.startsWith('router'))
  targets.push({
    name: 'ingest: non-2xx answers and socket errors, all router runs',
    value: routerRuns.reduce((sum, run) => sum + run.non2xx + run.errors + run.timeouts, 0),
    unit: 'responses',
    target: '0',
    met: routerRuns.every((run) => run.non2xx === 0 && run.errors === 0 && run.timeouts === 0),
  })

  // ------------------------------------------------------------ target 2
  targets.push({
    name: 'CPU per event, validate + route + map to 4 partners: router / plain V8',
    value: Number(pure.ratio.toFixed(2)),
    unit: `× (${pure.routerUsPerEvent.toFixed(1)} vs ${pure.naiveUsPerEvent.toFixed(1)} µs)`,
    target: '≤ 1.2',
    met: pure.ratio <= 1.2,
  })

  // ------------------------------------------------------------ target 3
  const { first, second } = deliveryResult
  const ingestCpuPerRequest = find('router', '/v1/batch', 'socket', 10)?.cpuMsPerRequest.worker ?? 0
  const deliveredPairs = first.ledger.byStatus.delivered ?? 0
  const routedPairs = first.ledger.pairs
  const consumerCpuMs = first.workerCpuMs - first.pollCpuMs - ingestCpuPerRequest * first.ingestRequests
  const consumerUsPerDelivered = (consumerCpuMs * 1000) / Math.max(1, deliveredPairs)
  const consumerUsPerRouted = (consumerCpuMs * 1000) / Math.max(1, routedPairs)
  const peerOf = (destination: string, mode: string) =>
    peerResults.results.find((result) => result.destination === destination && result.mode === mode)
  const segmentBatch = peerOf('Webhook', 'batch')?.cpuUsPerEvent ?? 0
  const inNode = 'first' in nodeConsumer ? nodeConsumer.first : undefined
  targets.push({
    name: 'delivery: consumer CPU in a Node process (fetch and binding calls included) ÷ delivered (event, destination) pairs, vs Segment Webhook batch mode CPU ÷ events',
    value: Math.round(inNode?.cpuUsPerDeliveredPair ?? 0),
    unit: inNode
      ? `µs (÷ routed pairs: ${inNode.cpuUsPerRoutedPair.toFixed(0)} µs; Segment: ${segmentBatch.toFixed(0)} µs)`
      : 'not measured: the consumer in Node failed (results.json, delivery.consumerInNode.error)',
    target: `< ${segmentBatch.toFixed(0)} µs`,
    met: inNode?.settled === true && inNode.cpuUsPerDeliveredPair < segmentBatch,
  })
  const byPartner = (requests: typeof first.requests, partner: string) =>
    requests.filter((request) => request.partner === partner)
  const secondIdentifies = second.events
  const crispSteady = byPartner(second.requests, 'crisp').length / Math.max(1, secondIdentifies)
  targets.push({
    name: 'delivery: Crisp calls per identify in steady state (second pass)',
    value: Number(crispSteady.toFixed(3)),
    unit: 'calls',
    target: '≤ 1.1',
    met: crispSteady <= 1.1 && second.settled,
  })
  const allRequests = [...first.requests, ...second.requests]
  const logins = allRequests.filter(
    (request) => request.partner === 'crossingminds' && request.path.startsWith('/v1/login/service/'),
  ).length
  targets.push({
    name: 'delivery: Crossing Minds logins over the run (one token lifetime, 29 min)',
    value: logins,
    unit: 'logins',
    target: '1',
    met: logins === 1,
  })
  const routes = requestsByRoute(allRequests)
  const cmInteractionRoutes = Object.entries(routes.crossingminds ?? {}).filter(([route]) =>
    route.includes('interactions'),
  )
  const cmSingleInteractions = cmInteractionRoutes
    .filter(([route]) => !route.includes('-bulk'))
    .reduce((sum, [, count]) => sum + count, 0)
  const cmBulk = cmInteractionRoutes
    .filter(([route]) => route.includes('-bulk'))
    .reduce((sum, [, n]) => sum + n, 0)
  targets.push({
    name: 'delivery: Crossing Minds interactions sent through bulk routes only',
    value: cmSingleInteractions,
    unit: `single-interaction calls (${cmBulk} bulk calls)`,
    target: '0',
    met: cmSingleInteractions === 0 && cmBulk > 0,
  })
  const cp = routes.crowdpower ?? {}
  const cpBulk = Object.entries(cp)
    .filter(([route]) => route.includes('/bulk'))
    .reduce((sum, [, count]) => sum + count, 0)
  targets.push({
    name: 'delivery: CrowdPower bulk routes used (customers/events/charges)',
    value: cpBulk,
    unit: `bulk calls of ${Object.values(cp).reduce((sum, count) => sum + count, 0)}`,
    target: '> 0',
    met: cpBulk > 0,
  })
  targets.push({
    name: 'delivery: every (event, destination) pair settled in the ledger',
    value: first.ledger.pairs + 0,
    unit: `of ${deliveryEvents.length * DESTINATIONS.length} pairs (${first.ledger.byStatus.failed ?? 0} failed)`,
    target: 'all settled, 0 failed',
    met: first.settled && second.settled && (first.ledger.byStatus.failed ?? 0) === 0,
  })
  const firstRoutes = requestsByRoute(first.requests)
  const perDestination = DESTINATIONS.map((destination) => {
    const partner = PARTNER_OF[destination]
    const delivered = first.ledger.byDestination[destination]?.delivered ?? 0
    const calls = byPartner(first.requests, partner).length
    return {
      destination,
      delivered,
      dropped: first.ledger.byDestination[destination]?.dropped ?? 0,
      requests: calls,
      requestsPerDeliveredEvent: calls / Math.max(1, delivered),
      routes: firstRoutes[partner] ?? {},
      statuses: Object.fromEntries(
        [...new Set(byPartner(first.requests, partner).map((request) => request.status))].map((status) => [
          status,
          byPartner(first.requests, partner).filter((request) => request.status === status).length,
        ]),
      ),
    }
  })

  // ------------------------------------------------------------ target 4
  const { ingest: ingestCounts, consumer: consumerCounts } = deliveryResult.counters
  const events = first.events + second.events
  const consumerCpuAll =
    first.workerCpuMs -
    first.pollCpuMs -
    ingestCpuPerRequest * first.ingestRequests +
    (second.workerCpuMs - second.pollCpuMs - ingestCpuPerRequest * second.ingestRequests)
  const perEvent: Record<PriceKey, number> = {
    workerRequests: (ingestCounts.invocations + consumerCounts.invocations) / events,
    cpuMs: (ingestCpuPerRequest * ingestCounts.invocations + Math.max(0, consumerCpuAll)) / events,
    queueOps:
      (ingestCounts.queues.writeOps +
        consumerCounts.queues.writeOps +
        consumerCounts.queues.readOps +
        consumerCounts.queues.deleteOps) /
      events,
    kvReads: (ingestCounts.kv.reads + consumerCounts.kv.reads) / events,
    kvWrites:
      (ingestCounts.kv.writes +
        ingestCounts.kv.deletes +
        ingestCounts.kv.lists +
        consumerCounts.kv.writes +
        consumerCounts.kv.deletes +
        consumerCounts.kv.lists) /
      events,
    d1RowsRead: (ingestCounts.d1.rowsRead + consumerCounts.d1.rowsRead) / events,
    d1RowsWritten: (ingestCounts.d1.rowsWritten + consumerCounts.d1.rowsWritten) / events,
  }
  const cost = costPerMillionEvents(perEvent)
  targets.push({
    name: 'platform cost per million events routed to four partners',
    value: Number(cost.total.toFixed(3)),
    unit: 'USD',
    target: '≤ 2',
    met: cost.total <= 2,
  })

  // ------------------------------------------------------------ target 5
  const inProcess = scaling.results
  const perEventAt = (events: number) =>
    inProcess.find((result) => result.events === events)?.cpuUsPerEvent ?? 0
  const linearity = perEventAt(2500) / Math.max(1e-9, perEventAt(100))
  targets.push({
    name: 'scaling: CPU per event at 2,500 vs 100 events per request (in process)',
    value: Number(linearity.toFixed(2)),
    unit: '×',
    target: '≤ 1.5 (linear)',
    met: linearity <= 1.5,
  })
  const workerdPerEvent = (events: number) => {
    const row = workerdScaling.results.find(
      (result) => result.events === events && result.label.includes('small'),
    )
    return row ? row.workerCpuMsPerRequest / row.events : 0
  }
  const workerdLinearity = workerdPerEvent(2500) / Math.max(1e-9, workerdPerEvent(100))
  targets.push({
    name: 'scaling: worker CPU per event at 2,500 vs 100 events per request (workerd)',
    value: Number(workerdLinearity.toFixed(2)),
    unit: '×',
    target: '≤ 1.5 (linear)',
    met: workerdLinearity <= 1.5,
  })
  const largest = inProcess.find((result) => result.label.startsWith('500 KB'))
  const largestMiB = (largest?.allocatedBytes ?? 0) / 2 ** 20
  targets.push({
    name: 'scaling: memory allocated by the largest allowed request (500 KB)',
    value: Number(largestMiB.toFixed(1)),
    unit: 'MiB (of a 128 MB isolate)',
    target: '≤ 32 MiB (a quarter of the limit)',
    met: largestMiB <= 32,
  })

  // ------------------------------------------------------------ target 6 + done
  const peerFailures = peerResults.results.reduce((sum, result) => sum + result.failures, 0)
  targets.push({
    name: 'peer: Segment engine measured in the same run, on the same events',
    value: peerResults.results.length,
    unit: `modes (actions-core ${peerResults.versions.actionsCore}, action-destinations ${peerResults.versions.actionDestinations})`,
    target: '4 modes, 0 failures',
    met: peerResults.results.length === 4 && peerFailures === 0,
  })
  const wallSeconds = (Date.now() - startedAt) / 1000
  targets.push({
    name: 'bench wall time (this process, after install)',
    value: Math.round(wallSeconds),
    unit: 's',
    target: '< 600',
    met: wallSeconds < 600,
  })
  targets.push({
    name: 'processes left running by the bench',
    value: leftovers.length,
    unit: 'processes',
    target: '0',
    met: leftovers.length === 0,
  })

  const results = {
    generatedAt: new Date().toISOString(),
    targets,
    machine,
    workload: {
      ingestBatchEvents: 20,
      ingestAverageBatchBytes: Math.round(averageBatchBytes),
      loadSecondsPerRun: LOAD_SECONDS,
      deliveryEvents: deliveryEvents.length,
      users: USERS,
    },
    ingest: ingestRows,
    ingestFloor: ingestRuns.filter((run) => run.route === '/enqueue/v1/batch'),
    ingestFloorEmpty: ingestRuns.filter((run) => run.route === '/enqueue-empty/v1/batch'),
    ingestFloorReference: ingestRuns.filter((run) => run.route === FLOOR_REFERENCE),
    ingestWithConsumer: ingestRuns.filter((run) => run.worker === 'router+consumer'),
    bindingDrift,
    leftovers,
    cpuPure: pure,
    delivery: {
      firstPass: {
        events: first.events,
        wallMs: first.wallMs,
        deliveredEventsPerSecond: first.events / (first.wallMs / 1000),
        workerCpuMs: first.workerCpuMs,
        pollCpuMs: first.pollCpuMs,
        ingestCpuMs: ingestCpuPerRequest * first.ingestRequests,
        consumerCpuMs,
        consumerUsPerDeliveredPair: consumerUsPerDelivered,
        consumerUsPerRoutedPair: consumerUsPerRouted,
        ledger: first.ledger,
      },
      secondPass: {
        events: second.events,
        wallMs: second.wallMs,
        ledger: second.ledger,
        requests: requestsByRoute(second.requests),
      },
      perDestination,
      crossingMindsLogins: logins,
      consumerInNode: nodeConsumer,
    },
    cost: {
      perEvent,
      lines: cost.lines,
      total: cost.total,
      prices: PRICES,
      counters: deliveryResult.counters,
    },
    scaling: { inProcess, workerd: workerdScaling },
    peer: peerResults,
    wallSeconds,
  }
  writeFileSync(join(BENCH, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(BENCH, 'RESULTS.md'), renderReport(results))
  say('wrote bench/results.json and bench/RESULTS.md')
  process.stdout.write(`\n${renderReport(results, { tableOnly: true })}\n`)
  say(
    `done in ${wallSeconds.toFixed(0)} s; ${targets.filter((target) => target.met).length}/${targets.length} met`,
  )
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  cleanup()
  process.exit(1)
})
