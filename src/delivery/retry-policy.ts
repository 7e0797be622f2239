import type { Bindings } from '../env'
import { positiveNumberFromEnv } from '../lib/env-number'

/** Keep retrying a pair for at least this long (Segment: 4 hours) before it fails for good. */
export const RETRY_WINDOW_MS = 4 * 60 * 60 * 1000
/** Longest single wait; Queues accept at most 12 h of delay. */
const MAX_DELAY_SECONDS = 30 * 60
const QUEUE_MAX_DELAY_SECONDS = 12 * 60 * 60

function baseDelaySeconds(env: Bindings): number {
  return positiveNumberFromEnv(env.RETRY_BASE_SECONDS, 10)
}

/**
 * Seconds to wait before attempt `attempts + 1`: the partner's Retry-After (or
 * own hint) when it gave one, else exponential backoff from RETRY_BASE_SECONDS
 * (10 s → 30 min) with jitter, so retries of many events spread out.
 */
export function retryDelaySeconds(env: Bindings, attempts: number, retryAfterSeconds?: number): number {
  if (retryAfterSeconds !== undefined)
    return Math.min(Math.max(retryAfterSeconds, 1), QUEUE_MAX_DELAY_SECONDS)
  const exponential = Math.min(baseDelaySeconds(env) * 2 ** Math.max(attempts - 1, 0), MAX_DELAY_SECONDS)
  return Math.max(1, Math.round(exponential * (0.5 + Math.random() * 0.5)))
}

/** Clamps a wait to what a queue message retry accepts. */
export function queueDelaySeconds(seconds: number): number {
  return Math.min(Math.max(Math.ceil(seconds), 0), QUEUE_MAX_DELAY_SECONDS)
}
