import { DurableObject } from 'cloudflare:workers'
import { destinationId } from '../config/destination-id'
import type { RateLimit } from '../destinations/types'
import type { Bindings } from '../env'
import { logWarn } from '../lib/log'
import { autoPauseKey, openIncident } from './alerts/incidents'
import { recordAudit } from './log'

/** Why and since when a destination is paused. */
export interface PauseInfo {
  at: number
  /** Who paused it: `admin`, `dashboard`, or `router` for an automatic pause. */
  actor: string
  reason: string
  automatic: boolean
}

/** What the consumer may do with a destination now. */
export interface GateGrant {
  paused: PauseInfo | null
  /** Pairs that may be sent now (each spends one request of the rate limit). */
  granted: number
  /** When the pairs not granted may be tried again; null when all were granted. */
  retryAt: number | null
  /** Consecutive 401/403 answers so far: a report is due to reset them after a success. */
  authFailures: number
}

/** What one consumer invocation saw of a destination, for the gate to account. */
export interface GateReport {
  now: number
  limit: RateLimit | null
  /** Pairs granted by this invocation's `acquire`. */
  granted: number
  /** Partner requests actually sent: the rate limit counts requests, not pairs. */
  requests: number
  /** A 429 with Retry-After (or the partner's own hint): the whole destination waits until then. */
  holdUntil: number | null
  /** 401/403 answers at the end of the invocation's calls, and whether any other answer came first. */
  authFailures: { count: number; afterOtherAnswer: boolean }
  /** The config's threshold of consecutive 401/403 answers; 0 never pauses. */
  pauseAfterAuthFailures: number
}

/** The gate's state, as GET /admin/destinations shows it. */
export interface GateStatus {
  paused: PauseInfo | null
  holdUntil: number | null
  /** Consecutive 401/403 answers so far. */
  authFailures: number
  /** Requests the rate limit allows now (null without a limit). */
  tokens: number | null
}

interface StoredGate {
  paused: PauseInfo | null
  holdUntil: number
  authFailures: number
  tokens: number | null
  refilledAt: number
}

const STATE_KEY = 'gate'

/** Longest a 429 may hold a destination: what a queue delay accepts (12 h). */
const MAX_HOLD_MS = 12 * 60 * 60 * 1000

/**
 * One destination of one source, across every consumer invocation and isolate:
 * whether it is paused (by an operator, or by the router after consecutive
 * 401/403 answers), held by a partner's 429, and its rate limit as a token
 * bucket of partner requests. One Durable Object per `<source>:<destination>`;
 * each call is one step, so concurrent consumers never both spend a token.
 */
export class DestinationGate extends DurableObject<Bindings> {
  private state: StoredGate

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.state = ctx.storage.kv.get<StoredGate>(STATE_KEY) ?? {
      paused: null,
      holdUntil: 0,
      authFailures: 0,
      tokens: null,
      refilledAt: 0,
    }
  }

  /** Takes up to `want` sends for one invocation. */
  acquire(now: number, want: number, limit: RateLimit | null): GateGrant {
    const { paused, authFailures } = this.state
    if (paused) return { paused, granted: 0, retryAt: null, authFailures }
    if (this.state.holdUntil > now)
      return { paused: null, granted: 0, retryAt: this.state.holdUntil, authFailures }
    if (!limit) return { paused: null, granted: want, retryAt: null, authFailures }
    const tokens = this.refill(now, limit)
    const granted = Math.max(0, Math.min(want, Math.floor(tokens)))
    this.state.tokens = tokens - granted
    this.save()
    if (granted === want) return { paused: null, granted, retryAt: null, authFailures }
    // Wait until the rest (at most a full bucket) can go at once, not one token at a time.
    const needed = Math.min(want - granted, limit.requests) - this.state.tokens
    const retryAt = now + Math.max(1000, Math.ceil(needed / ratePerMs(limit)))
    return { paused: null, granted, retryAt, authFailures }
  }

  /** Accounts what an invocation did; pauses the destination after too many 401/403 in a row. */
  async report(report: GateReport, source: string, destination: string): Promise<PauseInfo | null> {
    const { now, limit } = report
    if (limit) {
      // Requests beyond one per granted pair are spent now (a partner call may take several),
      // unused grants are given back; a debt is bounded by one bucket.
      const tokens = this.refill(now, limit) - (report.requests - report.granted)
      this.state.tokens = Math.max(-limit.requests, tokens)
    }
    if (report.holdUntil !== null)
      this.state.holdUntil = Math.max(this.state.holdUntil, Math.min(report.holdUntil, now + MAX_HOLD_MS))
    const { count, afterOtherAnswer } = report.authFailures
    this.state.authFailures = (afterOtherAnswer ? 0 : this.state.authFailures) + count
    const threshold = report.pauseAfterAuthFailures
    const pausesNow = !this.state.paused && threshold > 0 && this.state.authFailures >= threshold
    if (pausesNow)
      this.state.paused = {
        at: now,
        actor: 'router',
        reason: `the partner refused our credentials ${this.state.authFailures} times in a row (401/403)`,
        automatic: true,
      }
    this.save()
    if (pausesNow && this.state.paused) await this.announcePause(source, destination, this.state.paused)
    return this.state.paused
  }

  /** An automatic pause goes in the audit list and opens its alert; neither may undo the pause. */
  private async announcePause(source: string, destination: string, pause: PauseInfo): Promise<void> {
    const target = destinationId(source, destination)
    try {
      await recordAudit(this.env, {
        at: pause.at,
        actor: 'router',
        action: 'destination.paused',
        target,
        detail: pause.reason,
      })
      await openIncident(
        this.env,
        {
          key: autoPauseKey(source, destination),
          kind: 'auto_pause',
          target,
          title: `${destination} of ${source} paused automatically`,
          detail: pause.reason,
        },
        pause.at,
      )
    } catch {
      logWarn({ msg: 'automatic pause not announced', source, destination })
    }
  }

  /** Pauses by an operator's hand; `changed` is false when it was paused already. */
  pause(now: number, actor: string, reason: string): { status: GateStatus; changed: boolean } {
    const changed = this.state.paused === null
    if (changed) {
      this.state.paused = { at: now, actor, reason, automatic: false }
      this.save()
    }
    return { status: this.status(now), changed }
  }

  /** Resumes; the 401/403 count starts again (the settings were presumably fixed). */
  resume(now: number): { status: GateStatus; changed: boolean } {
    const changed = this.state.paused !== null
    this.state.paused = null
    this.state.authFailures = 0
    this.save()
    return { status: this.status(now), changed }
  }

  status(now: number): GateStatus {
    return {
      paused: this.state.paused,
      holdUntil: this.state.holdUntil > now ? this.state.holdUntil : null,
      authFailures: this.state.authFailures,
      tokens: this.state.tokens === null ? null : Math.floor(this.state.tokens),
    }
  }

  /** The bucket's tokens at `now`; a limit changed in the config takes effect at once. */
  private refill(now: number, limit: RateLimit): number {
    const previous = this.state.tokens ?? limit.requests
    const elapsed = Math.max(0, now - this.state.refilledAt)
    this.state.refilledAt = Math.max(this.state.refilledAt, now)
    return Math.min(limit.requests, previous + elapsed * ratePerMs(limit))
  }

  private save(): void {
    this.ctx.storage.kv.put(STATE_KEY, this.state)
  }
}

function ratePerMs(limit: RateLimit): number {
  return limit.requests / (limit.perSeconds * 1000)
}

/** The gate of one destination of one source. */
export function destinationGate(env: Bindings, source: string, destination: string) {
  return env.GATES.get(env.GATES.idFromName(destinationId(source, destination)))
}
