/**
 * Target 3: mixed events through the real queue consumer to the partner sandbox.
 * Sends the stream to the worker's own socket (bounded concurrency), waits until
 * the ledger has every (event, destination) pair settled, and reads what each
 * partner received from the sandbox's recordings of a private tenant.
 */
import type { RecordedRequest } from '../../sandbox/core'
import { basicAuth, DELIVERY_SOURCE } from './config'
import { batchBody, chunk, type RawEvent } from './events'
import { pool } from './pool'
import { cpuMs, sleep } from './procs'
import type { DevWorker } from './wrangler'

export const DESTINATIONS = ['Crisp', 'Crossing Minds', 'CrowdPower', 'Calixa'] as const
const SETTLED = new Set(['delivered', 'dropped', 'failed'])

export interface StatsRow {
  destination: string
  status: string
  reason: string | null
  count: number
}

export interface LedgerSummary {
  pairs: number
  byStatus: Record<string, number>
  byDestination: Record<string, Record<string, number>>
  reasons: Record<string, number>
}

async function ledgerSummary(worker: DevWorker, adminToken: string, since: number): Promise<LedgerSummary> {
  const url = `${worker.socketUrl}/admin/stats?source=${DELIVERY_SOURCE.name}&since=${since}`
  const response = await fetch(url, { headers: { authorization: `Bearer ${adminToken}` } })
  if (!response.ok) throw new Error(`GET /admin/stats: ${response.status} ${await response.text()}`)
  const { counts } = (await response.json()) as { counts: StatsRow[] }
  return summarizeLedger(counts)
}

/** Counts per destination × status × reason (as `/admin/stats` answers them) → the summary. */
export function summarizeLedger(counts: readonly StatsRow[]): LedgerSummary {
  const summary: LedgerSummary = { pairs: 0, byStatus: {}, byDestination: {}, reasons: {} }
  for (const row of counts) {
    summary.pairs += row.count
    summary.byStatus[row.status] = (summary.byStatus[row.status] ?? 0) + row.count
    const own = summary.byDestination[row.destination] ?? {}
    summary.byDestination[row.destination] = own
    own[row.status] = (own[row.status] ?? 0) + row.count
    if (row.reason) {
      const key = `${row.destination}: ${row.status} ${row.reason}`
      summary.reasons[key] = (summary.reasons[key] ?? 0) + row.count
    }
  }
  return summary
}

export async function sandboxRequests(sandboxUrl: string, tenant: string): Promise<RecordedRequest[]> {
  const response = await fetch(`${sandboxUrl}/__sandbox/t/${tenant}/requests`)
  return (await response.json()) as RecordedRequest[]
}

/** Posts events as 20-event batches, `concurrency` requests at a time; every answer must be 200. */
export async function sendEvents(url: string, events: readonly RawEvent[], concurrency = 4): Promise<number> {
  const bodies = chunk(events, 20).map((batch) => batchBody(batch))
  let failures = 0
  await pool(bodies, concurrency, async (body) => {
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(DELIVERY_SOURCE.writeKey), 'content-type': 'application/json' },
      body,
    })
    await response.arrayBuffer()
    if (response.status !== 200) failures += 1
  })
  if (failures > 0) throw new Error(`${failures} delivery batches were not accepted`)
  return bodies.length
}

export interface PassResult {
  events: number
  ingestRequests: number
  /** From the first request sent to the last pair settled in the ledger. */
  wallMs: number
  /** Worker process CPU over the pass (ingest + consumer + local KV/D1/Queues + ledger polls). */
  workerCpuMs: number
  /** CPU of the ledger polls, measured after the pass and subtracted. */
  pollCpuMs: number
  polls: number
  settled: boolean
  ledger: LedgerSummary
  requests: RecordedRequest[]
}

/**
 * Sends one pass and waits until the ledger holds `expectedPairs` settled pairs
 * (or `timeoutMs` passes). `drained` (the counted router's queue counters: every
 * message sent has been acked) is polled first, as it costs the worker nothing;
 * the ledger is read once it says so, and polled every 2 s only if it is not
 * settled yet. What those ledger polls cost is measured after the pass and
 * subtracted from the worker's CPU.
 */
export async function runPass(options: {
  worker: DevWorker
  adminToken: string
  sandboxUrl: string
  tenant: string
  events: readonly RawEvent[]
  since: number
  expectedPairs: number
  timeoutMs: number
  drained?: () => Promise<boolean>
}): Promise<PassResult> {
  const { worker, adminToken, sandboxUrl, tenant, events, since } = options
  const requestsBefore = (await sandboxRequests(sandboxUrl, tenant)).length
  const cpuStart = cpuMs(worker.workerPid)
  const startedAt = performance.now()
  const ingestRequests = await sendEvents(worker.socketUrl, events)
  const timedOut = () => performance.now() - startedAt > options.timeoutMs
  if (options.drained) while (!(await options.drained()) && !timedOut()) await sleep(200)
  const settledPairs = (summary: LedgerSummary) =>
    Object.entries(summary.byStatus).reduce(
      (sum, [status, count]) => sum + (SETTLED.has(status) ? count : 0),
      0,
    )
  let polls = 1
  let ledger = await ledgerSummary(worker, adminToken, since)
  while (settledPairs(ledger) < options.expectedPairs && !timedOut()) {
    await sleep(2000)
    ledger = await ledgerSummary(worker, adminToken, since)
    polls += 1
  }
  const wallMs = performance.now() - startedAt
  const workerCpuMs = cpuMs(worker.workerPid) - cpuStart
  // What one ledger poll costs now (the ledger at its largest: an upper bound for the earlier ones).
  const pollStart = cpuMs(worker.workerPid)
  for (let index = 0; index < 5; index += 1) await ledgerSummary(worker, adminToken, since)
  const pollCpuMs = ((cpuMs(worker.workerPid) - pollStart) / 5) * polls
  const requests = (await sandboxRequests(sandboxUrl, tenant)).slice(requestsBefore)
  return {
    events: events.length,
    ingestRequests,
    wallMs,
    workerCpuMs,
    pollCpuMs,
    polls,
    settled: settledPairs(ledger) >= options.expectedPairs,
    ledger,
    requests,
  }
}

export type Partner = 'crisp' | 'crossingminds' | 'crowdpower' | 'calixa'
export const PARTNER_OF: Record<(typeof DESTINATIONS)[number], Partner> = {
  Crisp: 'crisp',
  'Crossing Minds': 'crossingminds',
  CrowdPower: 'crowdpower',
  Calixa: 'calixa',
}

/** A request's route with ids replaced, e.g. `POST /v1/users/{id}/interactions-bulk/`. */
export function routeOf(request: RecordedRequest): string {
  const path = request.path
    .split('?')[0]
    ?.replace(/\/website\/[^/]+/, '/website/{id}')
    .replace(/\/people\/(profile|data|events)\/[^/]+$/, '/people/$1/{email}')
    .replace(/\/(users|sessions)\/[^/]+\/(properties|interactions-bulk)\//, '/$1/{id}/$2/')
    .replace(/\/users-properties\/[^/]+\/$/, '/users-properties/{name}/')
  return `${request.method} ${path}`
}

export function requestsByRoute(
  requests: readonly RecordedRequest[],
): Record<string, Record<string, number>> {
  const byPartner: Record<string, Record<string, number>> = {}
  for (const request of requests) {
    const own = byPartner[request.partner] ?? {}
    byPartner[request.partner] = own
    const route = routeOf(request)
    own[route] = (own[route] ?? 0) + 1
  }
  return byPartner
}
