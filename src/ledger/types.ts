import type { LedgerStatus, PairState } from './state'

/** An event in the ledger: one per (source, messageId). */
export interface EventKey {
  source: string
  messageId: string
}

export interface PairKey extends EventKey {
  destination: string
}

/** What the ledger keeps of an event besides its pairs (for search and the dashboard). */
export interface EventMeta {
  type: string
  /** Track event, page/screen name, or groupId. */
  name: string | null
  userId: string | null
}

/** One destination routing gave an event; `drop` when routing dropped it without the partner. */
export interface Route {
  destination: string
  drop?: { reason: string; detail?: string }
}

export interface ClaimEvent extends EventKey {
  /** The accepted request (or replay) whose queue message carries the event. */
  owner: string
  isReplay: boolean
  meta: EventMeta
  routes: Route[]
}

export interface ClaimRequest {
  /** Unique per consumer invocation: whose lease a later record releases. */
  claimId: string
  now: number
  /** How long the shard holds the event for this claim if its outcome is never recorded. */
  leaseMs: number
  events: ClaimEvent[]
}

/** A pair the claim hands to the consumer to attempt now. */
export interface DuePair {
  destination: string
  previous: PairState | null
}

export type EventClaim =
  /** Another copy of the messageId owns the event: counted, delivered nowhere. */
  | { kind: 'duplicate' }
  /** A concurrent attempt holds the event: try again after `until`. */
  | { kind: 'busy'; until: number }
  /**
   * `due` are the consumer's to attempt; `waitUntil` is the earliest pending retry, if
   * any; `recordWithOutcomes` are drops decided by routing, for the consumer to record
   * together with the attempts' outcomes (one write for the event).
   */
  | {
      kind: 'claimed'
      due: DuePair[]
      waitUntil: number | null
      recordWithOutcomes: Record<string, PairState>
    }

export interface RecordEvent extends EventKey {
  owner: string
  meta: EventMeta
  /** Destinations whose state changed, each whole. */
  states: Record<string, PairState>
  /** The event's JSON, when a destination failed or dropped it (kept for replay). */
  body: string | null
}

export interface RecordRequest {
  /** The claim whose leases this record releases; null for a record carried by a continuation. */
  claimId: string | null
  now: number
  events: RecordEvent[]
}

export interface DeadLetterEvent extends EventKey {
  owner: string
  meta: EventMeta
  /** Where routing sends the event: each pair not yet settled fails as dead_lettered (or drops, for a routing drop). */
  routes: Route[]
  body: string
}

/** Filters of the deliveries list, the stats and replay-by-filter. */
export interface DeliveryFilter {
  source?: string
  messageId?: string
  userId?: string
  destination?: string
  status?: LedgerStatus
  reason?: string
  /** Matches a messageId or a userId (the dashboard's one search box). */
  search?: string
  /** Pair last changed at or after (epoch ms). */
  since?: number
  /** Pair last changed before (epoch ms). */
  until?: number
}

/** Where the deliveries list stopped: the last row's position in its order. */
export interface ListCursor {
  /** The position of the event's latest change (rows are ordered by it, newest first). */
  recordedUs: number
  source: string
  messageId: string
  destination: string
}

/** One (event, destination) pair as the admin API, the dashboard and the tests read it. */
export interface LedgerRow {
  source: string
  message_id: string
  destination: string
  ingest_id: string
  event_type: string
  event_name: string | null
  user_id: string | null
  status: LedgerStatus
  reason: string | null
  attempts: number
  next_attempt_at: number | null
  last_error: string | null
  partner_status: number | null
  response_summary: string | null
  duplicates: number
  replays: number
  created_at: number
  window_started_at: number
  updated_at: number
  /** The event's last change (epoch ms). */
  event_updated_at: number
  /**
   * When the shard recorded the event's latest change, epoch µs, unique within its
   * shard and never before `event_updated_at`: the list's order.
   */
  recorded_us: number
}

export interface StatsRow {
  destination: string
  status: LedgerStatus
  reason: string | null
  count: number
}

export interface TimelineRow {
  destination: string
  status: LedgerStatus
  /** Index of the bucket: `since + bucket × bucketMs <= updated_at < since + (bucket + 1) × bucketMs`. */
  bucket: number
  count: number
}

/** A pair a replay took, with what it needs to queue the event again or give the pair back. */
export interface ReplayTaken extends PairKey {
  body: string
  previous: PairState
}

export interface ReplaySelection {
  pairs?: PairKey[]
  filter?: DeliveryFilter
  /**
   * Statuses the replay may take (default `REPLAYABLE_STATUSES`: failed and dropped).
   * `delivered` only when the operator asked for it; `retrying` never (an attempt is in flight).
   */
  statuses?: readonly LedgerStatus[]
  /** With a filter: only candidates after this place in original order (a paged replay's progress). */
  after?: ReplayPosition
}

/** A pair's place in the order a replay by filter takes pairs: the event's `created_at`, then its key. */
export interface ReplayPosition extends PairKey {
  createdAt: number
}

/** What a replay would resend to one destination: pairs with their event kept, and those without. */
export interface ReplayCount {
  destination: string
  replayable: number
  /** Matching pairs whose event body is no longer kept (or never was): they cannot be resent. */
  notKept: number
}

/** A pair a replay could not take, and why. */
export interface ReplaySkip extends PairKey {
  reason: string
}
