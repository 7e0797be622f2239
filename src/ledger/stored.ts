import type { PairState } from './state'

/**
 * How a pair's state is stored in `events.destinations` (docs/storage.md):
 * short keys, and fields at their usual value left out, so four destinations
 * cost about as much as one row of columns. Read back here and through the
 * `deliveries` view (schema.ts), which fill in the same defaults.
 */

/** What a stored pair is read against: the event row it sits in. */
export interface PairContext {
  /** The event's `ingest_id`. */
  owner: string
  /** The event's `updated_at`, the latest change of any of its pairs. */
  updatedAt: number
}
export interface StoredPair {
  /** status */
  s: PairState['status']
  /** attempts, when not 1 */
  a?: number
  /** updatedAt, when not the event's `updated_at` */
  u?: number
  /** reason */
  r?: string
  /** nextAttemptAt */
  n?: number
  /** lastError */
  e?: string
  /** partner HTTP status, when not a delivery's usual 200 */
  h?: number
  /** summary of the partner's answer */
  m?: string
  /** owner, when not the event's ingest id (a replay took the pair) */
  o?: string
  /** replays, when not 0 */
  p?: number
  /** windowStartedAt, when not updatedAt */
  w?: number
}

export function storePair(state: PairState, event: PairContext): StoredPair {
  const stored: StoredPair = { s: state.status }
  if (state.attempts !== 1) stored.a = state.attempts
  if (state.updatedAt !== event.updatedAt) stored.u = state.updatedAt
  if (state.reason !== null) stored.r = state.reason
  if (state.nextAttemptAt !== null) stored.n = state.nextAttemptAt
  if (state.lastError !== null) stored.e = state.lastError
  if (state.partnerStatus !== null && !(state.status === 'delivered' && state.partnerStatus === 200))
    stored.h = state.partnerStatus
  if (state.summary !== null) stored.m = state.summary
  if (state.owner !== event.owner) stored.o = state.owner
  if (state.replays !== 0) stored.p = state.replays
  if (state.windowStartedAt !== state.updatedAt) stored.w = state.windowStartedAt
  return stored
}

export function loadPair(stored: StoredPair, event: PairContext): PairState {
  const updatedAt = stored.u ?? event.updatedAt
  return {
    owner: stored.o ?? event.owner,
    status: stored.s,
    reason: stored.r ?? null,
    attempts: stored.a ?? 1,
    nextAttemptAt: stored.n ?? null,
    lastError: stored.e ?? null,
    partnerStatus: stored.h ?? (stored.s === 'delivered' ? 200 : null),
    summary: stored.m ?? null,
    replays: stored.p ?? 0,
    windowStartedAt: stored.w ?? updatedAt,
    updatedAt,
  }
}
