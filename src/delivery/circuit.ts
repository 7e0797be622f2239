import { IsolateCache } from '../lib/isolate-cache'

/** Consecutive failures (timeouts, network errors, 5xx) that open a partner's circuit. */
const FAILURES_TO_OPEN = 3
const OPEN_MS = 30_000

interface CircuitState {
  consecutiveFailures: number
  openUntil: number
}

/**
 * A per-isolate circuit breaker per partner endpoint. A partner that keeps
 * timing out would otherwise cost a full timeout per request and hold up the
 * consumer; once open, requests fail fast (and are retried later) until a probe
 * after OPEN_MS succeeds.
 */
export class CircuitBreaker {
  readonly #states = new IsolateCache<string, CircuitState>()

  /** Milliseconds until `key` may be tried again; 0 when closed or ready for a probe. */
  openFor(key: string, now: number): number {
    const state = this.#states.get(key)
    return state && state.openUntil > now ? state.openUntil - now : 0
  }

  record(key: string, failed: boolean, now: number): void {
    if (!failed) {
      this.#states.delete(key)
      return
    }
    const state = this.#states.get(key) ?? { consecutiveFailures: 0, openUntil: 0 }
    state.consecutiveFailures += 1
    if (state.consecutiveFailures >= FAILURES_TO_OPEN) state.openUntil = now + OPEN_MS
    this.#states.set(key, state)
  }
}

/** The isolate's one breaker, shared by every delivery context (lib/isolate-cache.ts). */
export const partnerCircuits = new CircuitBreaker()
