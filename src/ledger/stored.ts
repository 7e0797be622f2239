import type { PairState } from './state'

/**
 * How a pair's state is stored in `events.destinations` (docs/storage.md):
 * short keys, and fields at their usual value left out, so four destinations
 * cost about as much as one row of columns. Read back through the
 * `deliveries` view (schema.ts), never parsed field by field elsewhere.
 */
export interface StoredPair {
  /** status */
  s: PairState['status']
  /** attempts */
  a: number
  /** updatedAt */
  u: number
  /** reason */
  r?: string
  /** nextAttemptAt */
  n?: number
  /** lastError */
  e?: string
  /** partner HTTP status */
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

export function storePair(state: PairState, eventOwner: string): StoredPair {
  const stored: StoredPair = { s: state.status, a: state.attempts, u: state.updatedAt }
  if (state.reason !== null) stored.r = state.reason
  if (state.nextAttemptAt !== null) stored.n = state.nextAttemptAt
  if (state.lastError !== null) stored.e = state.lastError
  if (state.partnerStatus !== null) stored.h = state.partnerStatus
  if (state.summary !== null) stored.m = state.summary
  if (state.owner !== eventOwner) stored.o = state.owner
  if (state.replays !== 0) stored.p = state.replays
  if (state.windowStartedAt !== state.updatedAt) stored.w = state.windowStartedAt
  return stored
}

export function loadPair(stored: StoredPair, eventOwner: string): PairState {
  return {
    owner: stored.o ?? eventOwner,
    status: stored.s,
    reason: stored.r ?? null,
    attempts: stored.a,
    nextAttemptAt: stored.n ?? null,
    lastError: stored.e ?? null,
    partnerStatus: stored.h ?? null,
    summary: stored.m ?? null,
    replays: stored.p ?? 0,
    windowStartedAt: stored.w ?? stored.u,
    updatedAt: stored.u,
  }
}
