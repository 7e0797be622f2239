import type { Bindings } from '../env'
import { Ledger } from '../ledger/ledger'
import type { LedgerStatus } from '../ledger/state'
import type { DeliveryFilter, PairKey, ReplayCount, ReplaySkip } from '../ledger/types'
import type { Clock } from '../lib/clock'
import { logInfo } from '../lib/log'
import { resumeGate } from '../operations/destinations'
import type { GateStatus } from '../operations/gate'
import { replayPage } from './replay-page'
import { auditBestEffort, type ReplayJob, type ReplayRunner } from './replay-runner'

export type { ReplayJob, ReplayJobState } from './replay-runner'
export { REPLAY_TICK_MS } from './replay-runner'

/** A job's pace when none is asked for, and the fastest allowed (one page is at most this many pairs). */
export const DEFAULT_REPLAY_RATE = 50
export const MAX_REPLAY_RATE = 500

/** Exact pairs, replayed at once (at most 1000: the admin API's bound). */
export interface ReplayRequest {
  pairs: PairKey[]
  limit: number
  /** Statuses that may be taken; default failed and dropped. */
  statuses?: readonly LedgerStatus[]
  /** Who asked: `admin` (the API), `dashboard`. */
  actor: string
}

export interface ReplayResult {
  replayId: string
  replayed: number
  skipped: ReplaySkip[]
}

/** What a replay would resend: per destination, and in all. */
export interface ReplayPlan {
  destinations: ReplayCount[]
  replayable: number
  notKept: number
}

function pairId(pair: PairKey): string {
  return `${pair.source}\u0000${pair.messageId}\u0000${pair.destination}`
}

function newReplayId(): string {
  return `replay-${crypto.randomUUID()}`
}

function replayRunner(env: Bindings): DurableObjectStub<ReplayRunner> {
  return env.REPLAYS.get(env.REPLAYS.idFromName('router'))
}

/**
 * A replay by filter resends what had changed when it was planned: later
 * changes (a pair failing again after this replay resent it) are not its to take.
 */
function asOf(filter: DeliveryFilter, now: number): DeliveryFilter {
  return { ...filter, until: Math.min(filter.until ?? Number.MAX_SAFE_INTEGER, now + 1) }
}

function toPlan(destinations: ReplayCount[]): ReplayPlan {
  return {
    destinations,
    replayable: destinations.reduce((sum, count) => sum + count.replayable, 0),
    notKept: destinations.reduce((sum, count) => sum + count.notKept, 0),
  }
}

/**
 * Queues exact pairs again now (POST /admin/replay with `deliveries`, the
 * dashboard's confirm). A pair already being replayed, or in a status not asked
 * for (delivered, unless asked), is skipped with why; if the queue refuses, the
 * pairs are given back as they were.
 */
export async function replayDeliveries(
  env: Bindings,
  request: ReplayRequest,
  clock: Clock,
): Promise<ReplayResult> {
  const replayId = newReplayId()
  const now = clock.now()
  const selection = { pairs: request.pairs, ...(request.statuses && { statuses: request.statuses }) }
  const { taken, skipped } = await replayPage(env, selection, request.limit, replayId, now)
  const seen = new Set([...taken, ...skipped].map(pairId))
  for (const pair of request.pairs)
    if (!seen.has(pairId(pair))) skipped.push({ ...pair, reason: 'not_found' })
  logInfo({ msg: 'replay queued', count: taken.length })
  if (taken.length > 0)
    await auditBestEffort(env, {
      at: now,
      actor: request.actor,
      action: 'replay.queued',
      target: replayId,
      detail: `${taken.length} exact deliveries queued, ${skipped.length} skipped`,
    })
  return { replayId, replayed: taken.length, skipped }
}

/** The dry run: what a replay of this filter (or these pairs) would resend per destination, changing nothing. */
export async function planReplay(
  env: Bindings,
  selection: { filter: DeliveryFilter } | { pairs: PairKey[] },
  statuses: readonly LedgerStatus[],
  clock: Clock,
): Promise<ReplayPlan> {
  const ledger = new Ledger(env)
  const counts =
    'filter' in selection
      ? await ledger.countReplayable({ filter: asOf(selection.filter, clock.now()), statuses })
      : await ledger.countReplayable({ pairs: selection.pairs, statuses })
  return toPlan(counts)
}

export interface ReplayJobRequest {
  filter: DeliveryFilter
  /** Statuses the job may take: `delivered` only when the operator asked for it explicitly. */
  statuses: readonly LedgerStatus[]
  /** Pairs per second (default DEFAULT_REPLAY_RATE, at most MAX_REPLAY_RATE). */
  rate?: number
  /** Who asked: `admin`, `dashboard`, or `router` (e.g. resuming a paused destination). */
  actor: string
}

/**
 * Starts a paced replay of every pair matching `filter` in `statuses`, oldest
 * events first: plans it (the counts it answers), records the job and who
 * started it, and lets the ReplayRunner's alarm queue it page by page.
 */
export async function startReplayJob(
  env: Bindings,
  request: ReplayJobRequest,
  clock: Clock,
): Promise<{ jobId: string; planned: ReplayPlan }> {
  const now = clock.now()
  const filter = asOf(request.filter, now)
  const rate = Math.min(MAX_REPLAY_RATE, Math.max(1, Math.floor(request.rate ?? DEFAULT_REPLAY_RATE)))
  const planned = toPlan(await new Ledger(env).countReplayable({ filter, statuses: request.statuses }))
  const jobId = newReplayId()
  await replayRunner(env).start(
    {
      id: jobId,
      actor: request.actor,
      filter,
      statuses: [...request.statuses],
      rate,
      planned: planned.destinations,
    },
    now,
  )
  await auditBestEffort(env, {
    at: now,
    actor: request.actor,
    action: 'replay.started',
    target: jobId,
    detail: `${planned.replayable} to resend (${planned.notKept} not kept) at ${rate}/s; statuses ${request.statuses.join(', ')}; filter ${JSON.stringify(request.filter)}`,
  })
  return { jobId, planned }
}

export async function listReplayJobs(env: Bindings, limit: number): Promise<ReplayJob[]> {
  return replayRunner(env).list(limit)
}

export async function getReplayJob(env: Bindings, id: string): Promise<ReplayJob | null> {
  return replayRunner(env).get(id)
}

/**
 * Stops a running job before its next page (pairs already queued are still
 * delivered). Null for an unknown job; `cancelled` false when it had already ended.
 */
export async function cancelReplayJob(
  env: Bindings,
  id: string,
  actor: string,
  clock: Clock,
): Promise<{ job: ReplayJob; cancelled: boolean } | null> {
  const now = clock.now()
  const result = await replayRunner(env).cancel(id, actor, now)
  if (result?.cancelled)
    await auditBestEffort(env, {
      at: now,
      actor,
      action: 'replay.cancelled',
      target: id,
      detail: `after ${result.job.queued} queued; those already queued are still delivered`,
    })
  return result
}

/**
 * Resumes a paused destination and sends what it parked: a paced replay job of
 * its `paused` pairs, oldest events first. Resuming a running destination still
 * starts the job, so pairs a batch in flight parked just after a resume go too.
 */
export async function resumeDestination(
  env: Bindings,
  id: string,
  request: { actor: string; rate?: number },
  clock: Clock,
): Promise<{ gate: GateStatus; replay: { jobId: string; planned: ReplayPlan } }> {
  const { source, destination, gate } = await resumeGate(env, id, request.actor, clock)
  const replay = await startReplayJob(
    env,
    {
      filter: { source, destination },
      statuses: ['paused'],
      actor: request.actor,
      ...(request.rate !== undefined && { rate: request.rate }),
    },
    clock,
  )
  return { gate, replay }
}
