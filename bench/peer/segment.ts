/**
 * The peer, measured in the same run: Segment's destination engine
 * (`@segment/actions-core` + `@segment/action-destinations`, as published)
 * delivering the benchmark's own events, in process, over HTTP to a loopback sink.
 * Two destinations: the plain Webhook (Actions) and Customer.io (Actions) with
 * its default presets, each one event per call and in batch mode. CPU is this
 * process's (process.cpuUsage), the sink runs in the parent, so what is counted is
 * the engine: subscription matching, mapping, validation, request client, fetch.
 *
 *   tsx bench/peer/segment.ts <events.json> <sinkUrl>   → one JSON line on stdout
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pool } from '../lib/pool'

const require = createRequire(import.meta.url)

interface Destination {
  onEvent(event: unknown, settings: unknown): Promise<unknown[]>
  onBatch(events: unknown[], settings: unknown): Promise<unknown[]>
}
interface Core {
  Destination: new (definition: unknown) => Destination
  defaultValues(fields: unknown): Record<string, unknown>
}

const [eventsFile, sinkUrl] = process.argv.slice(2)
if (!eventsFile || !sinkUrl) throw new Error('usage: segment.ts <events.json> <sinkUrl>')
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(sinkUrl)) throw new Error(`sink must be on loopback: ${sinkUrl}`)

const loadStart = process.cpuUsage()
const core = require('@segment/actions-core') as Core
// Customer.io's origin is fixed in the destination's code: its requests are sent to the sink instead, through
// the engine's own fetch (node-fetch via cross-fetch), by rewriting the URL's origin only.
const fetchModule = require(join(dirname(require.resolve('@segment/actions-core')), 'fetch.js')) as {
  default: (input: Request) => Promise<Response>
  Request: typeof Request
}
const engineFetch = fetchModule.default
let requests = 0
fetchModule.default = (request: Request) => {
  requests += 1
  const url = new URL(request.url)
  if (url.origin === sinkUrl) return engineFetch(request)
  const target = `${sinkUrl}/${url.hostname}${url.pathname}${url.search}`
  return engineFetch(new fetchModule.Request(target, request))
}
const webhook = new core.Destination(
  (require('@segment/action-destinations/dist/destinations/webhook') as { default: unknown }).default,
)
const customerioModule = require('@segment/action-destinations/dist/destinations/customerio') as {
  default: { actions: Record<string, { fields: unknown }> }
}
const customerio = new core.Destination(customerioModule.default)
const loadCpu = process.cpuUsage(loadStart)

type Event = Record<string, unknown> & { type: string }
const events = JSON.parse(readFileSync(eventsFile, 'utf8')) as Event[]

function subscription(partnerAction: string, subscribe: string, mapping: Record<string, unknown>) {
  return { partnerAction, subscribe, mapping }
}

function webhookSettings(batch: boolean) {
  return {
    subscriptions: [
      subscription('send', 'type = "identify" or type = "track" or type = "page" or type = "group"', {
        url: `${sinkUrl}/webhook`,
        method: 'POST',
        data: { '@path': '$.' },
        ...(batch && { enable_batching: true, batch_size: 100 }),
      }),
    ],
  }
}

const CUSTOMERIO_PRESETS: Record<string, [action: string, subscribe: string]> = {
  identify: ['createUpdatePerson', 'type = "identify"'],
  track: ['trackEvent', 'type = "track"'],
  page: ['trackPageView', 'type = "page"'],
}

/** Customer.io's default presets; `only` keeps one (a batch is per subscription, as Segment forms them). */
function customerioSettings(batch: boolean, only?: string) {
  const presets = Object.entries(CUSTOMERIO_PRESETS).filter(([type]) => only === undefined || type === only)
  return {
    siteId: 'bench-site',
    apiKey: 'bench-key',
    subscriptions: presets.map(([, [action, subscribe]]) =>
      subscription(action, subscribe, {
        ...core.defaultValues(customerioModule.default.actions[action]?.fields),
        convert_timestamp: true,
        ...(batch && { enable_batching: true, batch_size: 100 }),
      }),
    ),
  }
}

function failures(results: unknown[]): number {
  let failed = 0
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit)
    else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>
      if ('error' in record) failed += 1
      if (Array.isArray(record.multistatus))
        for (const entry of record.multistatus as { status?: number }[])
          if ((entry?.status ?? 200) >= 300) failed += 1
    }
  }
  results.forEach(visit)
  return failed
}

/** One destination in one mode, as bench/run.ts reads it from this child's output. */
export interface ModeResult {
  destination: string
  mode: 'single' | 'batch'
  events: number
  requests: number
  failures: number
  cpuUsPerEvent: number
  wallMs: number
}

async function measure(
  destination: string,
  mode: 'single' | 'batch',
  engine: Destination,
  settingsFor: (event: Event) => unknown,
  input: Event[],
): Promise<ModeResult> {
  const run = async (list: Event[]) => {
    const results: unknown[] = []
    if (mode === 'single')
      await pool(list, 16, async (event) => results.push(await engine.onEvent(event, settingsFor(event))))
    else {
      // Batches as the platform forms them: per subscription (here: per call type), 100 events at most.
      const chunks: Event[][] = []
      for (const type of new Set(list.map((event) => event.type))) {
        const ofType = list.filter((event) => event.type === type)
        for (let start = 0; start < ofType.length; start += 100) chunks.push(ofType.slice(start, start + 100))
      }
      await pool(chunks, 4, async (chunk) =>
        results.push(await engine.onBatch(chunk, settingsFor(chunk[0] as Event))),
      )
    }
    return results
  }
  await run(input.slice(0, Math.min(300, input.length))) // warm-up: JIT, schema compilation
  const requestsBefore = requests
  const cpuStart = process.cpuUsage()
  const wallStart = performance.now()
  const results = await run(input)
  const cpu = process.cpuUsage(cpuStart)
  return {
    destination,
    mode,
    events: input.length,
    requests: requests - requestsBefore,
    failures: failures(results),
    cpuUsPerEvent: (cpu.user + cpu.system) / input.length,
    wallMs: performance.now() - wallStart,
  }
}

const webhookSingle = webhookSettings(false)
const webhookBatch = webhookSettings(true)
const customerioSingle = customerioSettings(false)
const customerioBatch = Object.fromEntries(
  Object.keys(CUSTOMERIO_PRESETS).map((type) => [type, customerioSettings(true, type)]),
)
const forWebhook = events.filter((event) => ['identify', 'track', 'page', 'group'].includes(event.type))
const forCustomerio = events.filter((event) => ['identify', 'track', 'page'].includes(event.type))
const results = [
  await measure('Webhook', 'single', webhook, () => webhookSingle, forWebhook),
  await measure('Webhook', 'batch', webhook, () => webhookBatch, forWebhook),
  await measure('Customer.io', 'single', customerio, () => customerioSingle, forCustomerio),
  await measure('Customer.io', 'batch', customerio, (event) => customerioBatch[event.type], forCustomerio),
]

const versionOf = (name: string) => {
  const main = require.resolve(name)
  const root = main.slice(0, main.lastIndexOf(`${name}/`) + name.length)
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version
}
const versions = {
  actionsCore: versionOf('@segment/actions-core'),
  actionDestinations: versionOf('@segment/action-destinations'),
}
process.stdout.write(
  `${JSON.stringify({ versions, loadCpuMs: (loadCpu.user + loadCpu.system) / 1000, results })}\n`,
)
