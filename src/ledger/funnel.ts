/**
 * The delivery funnel, as pure functions of the ledger's rollup counts:
 *
 *   received ─► filtered (routing: consent, filters, integrations, destination gone)
 *            ─► dropped  (the destination would not send it: unsupported call, unknown user, …)
 *            ─► parked   (its destination paused)
 *            ─► attempted ─► delivered | retrying | failed
 *
 * A rollup counts each pair once, at its current status, in the bucket of its
 * last change: the funnel is where the pairs last changed in a window now
 * stand, not a log of every step they took. No clock, no storage here.
 */
import type { LedgerStatus } from './state'
import type { LedgerRow, StatsRow } from './types'

/** The stages after "received", in the order a pair passes them. */
export const FUNNEL_STAGES = ['filtered', 'dropped', 'parked', 'delivered', 'retrying', 'failed'] as const
export type FunnelStage = (typeof FUNNEL_STAGES)[number]

/** The stages of pairs handed to their destination's partner calls: `attempted` is their sum. */
export const ATTEMPTED_STAGES: readonly FunnelStage[] = ['delivered', 'retrying', 'failed']

/**
 * Every reason a pair is dropped for before its destination's code sees it, with
 * the stage it counts in: routing's decisions (src/delivery/routing.ts types its
 * drops with these keys, so a new one does not compile until it is placed here)
 * and the shard's `destination_removed` (a pair still retrying for a destination
 * since taken out of the config). `unsupported_call` is routing's too, but decided
 * by the destination's own list of calls, and destinations give it themselves:
 * the ledger cannot tell the two apart, so it counts with the destination's drops.
 */
export const ROUTING_DROPS = {
  filtered: 'filtered',
  consent_denied: 'filtered',
  consent_missing: 'filtered',
  integrations_off: 'filtered',
  unknown_destination: 'filtered',
  destination_removed: 'filtered',
  unsupported_call: 'dropped',
} as const satisfies Record<string, FunnelStage>
export type RoutingDropReason = keyof typeof ROUTING_DROPS

function dropStage(reason: string | null): FunnelStage {
  return reason !== null && Object.hasOwn(ROUTING_DROPS, reason)
    ? ROUTING_DROPS[reason as RoutingDropReason]
    : 'dropped'
}

/** Where each ledger status lands: a new status does not compile until it has its line here. */
const STAGE_OF_STATUS: { readonly [S in LedgerStatus]: (reason: string | null) => FunnelStage } = {
  delivered: () => 'delivered',
  dropped: dropStage,
  retrying: () => 'retrying',
  failed: () => 'failed',
  paused: () => 'parked',
}

/** The stage of a pair in this status for this reason; undefined for a status this code does not know. */
export function stageOf(status: string, reason: string | null): FunnelStage | undefined {
  return Object.hasOwn(STAGE_OF_STATUS, status) ? STAGE_OF_STATUS[status as LedgerStatus](reason) : undefined
}

/**
 * One event as the funnel shows it: what an on-call engineer needs to find and
 * judge it, and nothing about the person (no userId, traits or properties).
 */
export interface FunnelSample {
  messageId: string
  source: string
  type: string
  /** Track event, page/screen name or groupId. */
  eventName: string | null
  /** When the ledger first saw the event, and when this pair last changed (epoch ms). */
  createdAt: number
  updatedAt: number
  attempts: number
  partnerStatus: number | null
  lastError: string | null
  /** The ledger's summary of the partner's answer (or a drop's detail). */
  summary: string | null
}

export interface FunnelReason {
  /** The ledger status these pairs are in (what `GET /admin/deliveries?status=` takes). */
  status: LedgerStatus
  reason: string | null
  count: number
  /** Up to SAMPLES_PER_REASON events; absent when this reason was not sampled (see SAMPLED_REASONS_MAX). */
  samples?: FunnelSample[]
}

export interface FunnelStageCount {
  count: number
  /** Largest first. */
  reasons: FunnelReason[]
}

export type DestinationFunnel = {
  destination: string
  /** Every pair of the window: the sum of all stages. */
  received: number
  /** delivered + retrying + failed. */
  attempted: number
} & Record<FunnelStage, FunnelStageCount>

function emptyFunnel(destination: string): DestinationFunnel {
  const none = (): FunnelStageCount => ({ count: 0, reasons: [] })
  return {
    destination,
    received: 0,
    attempted: 0,
    filtered: none(),
    dropped: none(),
    parked: none(),
    delivered: none(),
    retrying: none(),
    failed: none(),
  }
}

/**
 * One funnel per destination, from the stats' counts per destination × status ×
 * reason. `listed` destinations get a funnel even with nothing counted (a
 * configured destination nothing reached is worth seeing). Sorted by name.
 */
export function buildFunnels(counts: readonly StatsRow[], listed: readonly string[]): DestinationFunnel[] {
  const funnels = new Map(listed.map((name) => [name, emptyFunnel(name)]))
  for (const row of counts) {
    const stage = stageOf(row.status, row.reason)
    // A status from newer code (mid-deploy) has no stage here yet: left out rather than guessed.
    if (stage === undefined) continue
    let funnel = funnels.get(row.destination)
    if (!funnel) {
      funnel = emptyFunnel(row.destination)
      funnels.set(row.destination, funnel)
    }
    funnel.received += row.count
    if (ATTEMPTED_STAGES.includes(stage)) funnel.attempted += row.count
    const counted = funnel[stage]
    counted.count += row.count
    const same = counted.reasons.find((item) => item.status === row.status && item.reason === row.reason)
    if (same) same.count += row.count
    else counted.reasons.push({ status: row.status, reason: row.reason, count: row.count })
  }
  for (const funnel of funnels.values()) {
    for (const stage of FUNNEL_STAGES) funnel[stage].reasons.sort((a, b) => b.count - a.count)
  }
  return [...funnels.values()].sort((a, b) => (a.destination < b.destination ? -1 : 1))
}

/** Samples per reason, and reasons sampled per answer (each sample is one list call across every shard). */
export const SAMPLES_PER_REASON = 3
export const SAMPLED_REASONS_MAX = 10

/** The stages whose reasons get samples, the one an engineer looks at first first. */
const SAMPLED_STAGES: readonly FunnelStage[] = ['failed', 'dropped', 'retrying', 'parked', 'filtered']

export interface SampleTarget {
  destination: string
  entry: FunnelReason
}

/** The reasons to sample: failures before drops, larger counts first, at most `max`. */
export function sampleTargets(
  funnels: readonly DestinationFunnel[],
  max = SAMPLED_REASONS_MAX,
): SampleTarget[] {
  const targets: (SampleTarget & { rank: number })[] = []
  for (const funnel of funnels) {
    for (const [rank, stage] of SAMPLED_STAGES.entries()) {
      for (const entry of funnel[stage].reasons)
        targets.push({ destination: funnel.destination, entry, rank })
    }
  }
  return targets
    .sort((a, b) => a.rank - b.rank || b.entry.count - a.entry.count)
    .slice(0, max)
    .map(({ destination, entry }) => ({ destination, entry }))
}

const REDACTED = '<redacted>'
/** Anything shaped like an email address, wherever a partner's answer echoes it. */
const EMAIL = /[^\s@"'<>()[\]{},;:]+@[^\s@"'<>()[\]{},;:]+\.[^\s@"'<>()[\]{},;:]{2,}/g
/** A shorter userId ("1", "ab") would blank ordinary text without hiding anyone. */
const MIN_SCRUBBED_ID = 3

/** `text` with the pair's userId and every email-shaped substring replaced. */
export function scrub(text: string | null, userId: string | null): string | null {
  if (text === null) return null
  const withoutId =
    userId !== null && userId.length >= MIN_SCRUBBED_ID ? text.replaceAll(userId, REDACTED) : text
  return withoutId.replace(EMAIL, REDACTED)
}

/** A ledger row as a funnel sample: the userId left out, and scrubbed from the texts shown. */
export function toSample(row: LedgerRow): FunnelSample {
  return {
    messageId: row.message_id,
    source: row.source,
    type: row.event_type,
    eventName: scrub(row.event_name, row.user_id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    attempts: row.attempts,
    partnerStatus: row.partner_status,
    lastError: scrub(row.last_error, row.user_id),
    summary: scrub(row.response_summary, row.user_id),
  }
}
