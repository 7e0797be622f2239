import type { Bindings } from '../env'
import { positiveNumberFromEnv } from '../lib/env-number'

/** Longest single wait between partner attempts. */
const MAX_DELAY_SECONDS = 30 * 60
/** Longest wait after a failure of our own storage or queue (docs/storage.md, "Faults"). */
const MAX_INFRASTRUCTURE_DELAY_SECONDS = 10 * 60
/** Queues accept at most 12 h of delay. */
const QUEUE_MAX_DELAY_SECONDS = 12 * 60 * 60

function baseDelaySeconds(env: Bindings): number {
  return positiveNumberFromEnv(env.RETRY_BASE_SECONDS, 10)
}

/** Exponential from RETRY_BASE_SECONDS, capped, with jitter so retries of many events spread out. */
function backoffSeconds(env: Bindings, attempts: number, maxSeconds: number): number {
  const exponential = Math.min(baseDelaySeconds(env) * 2 ** Math.max(attempts - 1, 0), maxSeconds)
  return Math.max(1, Math.round(exponential * (0.5 + Math.random() * 0.5)))
}

/**
 * Seconds to wait before attempt `attempts + 1` of a pair: the partner's
 * Retry-After (or own hint) when it gave one, else backoff (10 s → 30 min).
 */
export function retryDelaySeconds(env: Bindings, attempts: number, retryAfterSeconds?: number): number {
  if (retryAfterSeconds !== undefined)
    return Math.min(Math.max(retryAfterSeconds, 1), QUEUE_MAX_DELAY_SECONDS)
  return backoffSeconds(env, attempts, MAX_DELAY_SECONDS)
}

/**
 * Seconds before a message is tried again after the ledger, KV or the queue
 * failed (not the partner): 10 s doubling to 10 min, jittered to 50–100 %, by
 * the message's own attempt count. A 30-minute outage costs at most 12
 * attempts, 4 hours at most 54, under the queue's max_retries of 100
 * (docs/storage.md, "Faults").
 */
export function infrastructureRetryDelaySeconds(env: Bindings, messageAttempts: number): number {
  return backoffSeconds(env, messageAttempts, MAX_INFRASTRUCTURE_DELAY_SECONDS)
}

/** Clamps a wait to what a queue message retry accepts. */
export function queueDelaySeconds(seconds: number): number {
  return Math.min(Math.max(Math.ceil(seconds), 0), QUEUE_MAX_DELAY_SECONDS)
}
