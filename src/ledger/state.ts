/**
 * The state of one (event, destination) pair and how it moves, as pure
 * functions of the previous state, what happened, and the time passed in.
 *
 *   (none) ── attempt ──► delivered | dropped | failed          (terminal)
 *                    └──► retrying ── attempt ──► … (until RETRY_WINDOW_MS)
 *   (none) ── routing drop ──► dropped
 *   failed | dropped ── replay ──► retrying (owned by the replay)
 *   (none) | retrying ── dead letter ──► failed (dead_lettered)
 *   retrying ── no change for a whole retention period ──► failed (orphaned)
 *   (none) | retrying ── destination paused ──► paused ── resume ──► retrying (owned by the resume)
 *
 * Nothing here reads a clock or storage: callers pass `now`.
 */

export const LEDGER_STATUSES = ['delivered', 'dropped', 'retrying', 'failed', 'paused'] as const
export type LedgerStatus = (typeof LEDGER_STATUSES)[number]

/** Statuses nothing moves out of except an operator's replay. */
export const TERMINAL_STATUSES: readonly LedgerStatus[] = ['delivered', 'dropped', 'failed']
/**
 * Statuses a replay may take back. `paused` pairs are taken by a resume, and
 * `delivered` ones only when an operator asks for them by name.
 */
export const REPLAYABLE_STATUSES: readonly LedgerStatus[] = ['failed', 'dropped']

export function isTerminal(status: LedgerStatus): boolean {
  return TERMINAL_STATUSES.includes(status)
}

/** Keep retrying a pair for at least this long (Segment: 4 hours) before it fails for good. */
export const RETRY_WINDOW_MS = 4 * 60 * 60 * 1000

/** Why a pair was not sent. Machine-readable; shown in the ledger, the stats and the dashboard. */
export type DropReason =
  | 'unsupported_call'
  | 'unsupported_event'
  | 'email_required'
  | 'unknown_user'
  | 'missing_user_id'
  | 'missing_item_id'
  | 'missing_group_id'
  | 'no_endpoint'
  | 'integrations_off'
  | 'unknown_destination'
  | 'destination_removed'
  | (string & {})

/** What happened when one event was handed to one destination once. */
export type AttemptOutcome =
  | { status: 'delivered'; partnerStatus: number; summary?: string }
  | { status: 'dropped'; reason: DropReason; detail?: string }
  /** Try again later; `retryAfterSeconds` carries Retry-After or the partner's own hint. */
  | { status: 'retry'; error: string; partnerStatus?: number; retryAfterSeconds?: number; summary?: string }
  /** Permanent: the partner refused (4xx) or the request can never succeed. */
  | { status: 'failed'; reason: string; partnerStatus?: number; summary?: string }

/** One destination's state for one event. */
export interface PairState {
  /** The accepted request (or replay) this pair belongs to: a queue retry carries the same id. */
  owner: string
  status: LedgerStatus
  reason: string | null
  /** Partner calls made for this pair. */
  attempts: number
  nextAttemptAt: number | null
  lastError: string | null
  partnerStatus: number | null
  summary: string | null
  replays: number
  /** Start of the current 4-hour retry window (first attempt, or the last replay). */
  windowStartedAt: number
  updatedAt: number
}

type StateChange = Pick<PairState, 'status'> & Partial<Omit<PairState, 'status'>>

/** A pair's next state: every field set, so a stored state is replaced whole. */
function nextState(
  owner: string,
  previous: PairState | undefined,
  now: number,
  change: StateChange,
): PairState {
  return {
    owner,
    reason: null,
    attempts: previous?.attempts ?? 0,
    nextAttemptAt: null,
    lastError: null,
    partnerStatus: null,
    summary: null,
    replays: previous?.replays ?? 0,
    windowStartedAt: previous?.windowStartedAt ?? now,
    updatedAt: now,
    ...change,
  }
}

/** A drop decided without calling the partner (routing, `integrations`, a removed destination). */
export function droppedState(
  owner: string,
  previous: PairState | undefined,
  now: number,
  drop: { reason: DropReason; detail?: string },
): PairState {
  return nextState(owner, previous, now, {
    status: 'dropped',
    reason: drop.reason,
    summary: drop.detail ?? null,
    lastError: previous?.lastError ?? null,
  })
}

/**
 * The state after one partner attempt. A retry is scheduled `retryDelayMs`
 * ahead; one that would fall past the retry window fails for good instead.
 */
export function attemptedState(
  owner: string,
  previous: PairState | undefined,
  outcome: AttemptOutcome,
  now: number,
  retryDelayMs: number,
): PairState {
  const attempts = (previous?.attempts ?? 0) + 1
  const state = (change: StateChange) => nextState(owner, previous, now, { attempts, ...change })
  switch (outcome.status) {
    case 'delivered':
      return state({
        status: 'delivered',
        partnerStatus: outcome.partnerStatus,
        summary: outcome.summary ?? null,
      })
    case 'dropped':
      return state({ status: 'dropped', reason: outcome.reason, summary: outcome.detail ?? null })
    case 'failed':
      return state({
        status: 'failed',
        reason: outcome.reason,
        partnerStatus: outcome.partnerStatus ?? null,
        summary: outcome.summary ?? null,
      })
    case 'retry': {
      const detail = {
        lastError: outcome.error,
        partnerStatus: outcome.partnerStatus ?? null,
        summary: outcome.summary ?? null,
      }
      const nextAttemptAt = now + retryDelayMs
      const windowStartedAt = previous?.windowStartedAt ?? now
      if (nextAttemptAt - windowStartedAt > RETRY_WINDOW_MS)
        return state({ ...detail, status: 'failed', reason: `retries_exhausted: ${outcome.error}` })
      return state({ ...detail, status: 'retrying', nextAttemptAt })
    }
  }
}

/**
 * A pair parked while its destination is paused: no attempt is made or counted,
 * and no retry window runs, so it never fails for having waited; a resume takes it.
 */
export function pausedState(
  owner: string,
  previous: PairState | undefined,
  now: number,
  reason: string,
): PairState {
  return nextState(owner, previous, now, {
    status: 'paused',
    reason,
    lastError: previous?.lastError ?? null,
    partnerStatus: previous?.partnerStatus ?? null,
    summary: previous?.summary ?? null,
  })
}

/** A replay takes a failed or dropped pair: retrying under the replay's id, with a fresh window. */
export function replayedState(previous: PairState, replayId: string, now: number): PairState {
  return {
    ...previous,
    owner: replayId,
    status: 'retrying',
    nextAttemptAt: null,
    replays: previous.replays + 1,
    windowStartedAt: now,
    updatedAt: now,
  }
}

/**
 * A pair no attempt will come for: its message was dead-lettered (`dead_lettered`),
 * or it has been retrying a whole retention period unchanged (`orphaned`: any message
 * for it is long gone). Whatever was not settled fails, and can be replayed.
 */
export function abandonedState(
  owner: string,
  previous: PairState | undefined,
  now: number,
  reason: 'dead_lettered' | 'orphaned',
): PairState {
  return nextState(owner, previous, now, {
    status: 'failed',
    reason,
    lastError: previous?.lastError ?? null,
    partnerStatus: previous?.partnerStatus ?? null,
    summary: previous?.summary ?? null,
  })
}

/** What the claim step decides for a pair that already has a state. */
export type PairDecision =
  /** Someone else's: a replay took it, or another replay got it first. */
  { kind: 'held' } | { kind: 'settled' } | { kind: 'wait'; until: number } | { kind: 'due' }

/**
 * Whether `owner` may attempt a pair now. A destination added to the config
 * since the event was first routed belongs to the event's owner, never to a replay.
 */
export function decidePair(
  previous: PairState | undefined,
  owner: string,
  isReplay: boolean,
  now: number,
): PairDecision {
  if (previous ? previous.owner !== owner : isReplay) return { kind: 'held' }
  if (!previous) return { kind: 'due' }
  // A parked pair waits for its destination's resume, not for this message.
  if (isTerminal(previous.status) || previous.status === 'paused') return { kind: 'settled' }
  if (previous.nextAttemptAt !== null && previous.nextAttemptAt > now)
    return { kind: 'wait', until: previous.nextAttemptAt }
  return { kind: 'due' }
}

/**
 * Drops that a replay would only repeat: the destination does not take this
 * call or event at all, whatever its settings. Their events are not kept.
 */
const FINAL_DROPS: ReadonlySet<string> = new Set(['unsupported_call', 'unsupported_event'])

/**
 * Whether a pair's event body is worth keeping: it is parked (its resume sends
 * it), it failed, or a destination dropped it for a reason a replay could change
 * (an unknown user identified since, a setting fixed since).
 */
export function needsBody(state: PairState): boolean {
  return (
    state.status === 'paused' ||
    state.status === 'failed' ||
    (state.status === 'dropped' && !FINAL_DROPS.has(state.reason ?? ''))
  )
}
