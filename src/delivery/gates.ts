import type { DestinationConfig } from '../config/schema'
import type { Bindings } from '../env'
import { logWarn } from '../lib/log'
import { destinationGate, type GateGrant, type PauseInfo } from '../operations/gate'
import type { PartnerExchange } from './context'

/** The due pairs of one destination of one source in a consumer invocation. */
export interface GateRequest {
  source: string
  destination: string
  config: DestinationConfig
  want: number
}

/** A gate's answer, or `unavailable` when its Durable Object could not be reached. */
export type GateAnswer = GateGrant | { unavailable: true }

interface Traffic {
  requests: number
  authFailures: number
  /** Some answer other than 401/403 came before the trailing run of them. */
  afterOtherAnswer: boolean
  holdUntil: number | null
}

interface Opened {
  request: GateRequest
  grant: GateGrant
  traffic: Traffic
}

function keyOf(source: string, destination: string): string {
  return `${source}\u0000${destination}`
}

/** Answers a destination gives when it refuses our credentials. */
function isAuthFailure(status: number): boolean {
  return status === 401 || status === 403
}

/**
 * One consumer invocation's passage through the destination gates
 * (src/operations/gate.ts): asks each destination with due pairs how many may
 * go, counts the partner requests and answers while they are sent, and reports
 * them back afterwards. Destinations without a limit, a 429 or a 401/403 streak
 * are not reported on: a healthy destination costs one gate call per invocation.
 */
export class GatePass {
  readonly #opened = new Map<string, Opened>()

  constructor(private readonly env: Bindings) {}

  /** One gate call per destination, in parallel; a gate that fails answers `unavailable`. */
  async open(now: number, requests: readonly GateRequest[]): Promise<Map<string, GateAnswer>> {
    const answers = new Map<string, GateAnswer>()
    await Promise.all(
      requests.map(async (request) => {
        const key = keyOf(request.source, request.destination)
        try {
          const grant = await destinationGate(this.env, request.source, request.destination).acquire(
            now,
            request.want,
            request.config.rateLimit,
          )
          answers.set(key, grant)
          this.#opened.set(key, {
            request,
            grant,
            traffic: { requests: 0, authFailures: 0, afterOtherAnswer: false, holdUntil: null },
          })
        } catch {
          logWarn({
            msg: 'destination gate unavailable',
            source: request.source,
            destination: request.destination,
          })
          answers.set(key, { unavailable: true })
        }
      }),
    )
    return answers
  }

  answerFor(source: string, destination: string, answers: Map<string, GateAnswer>): GateAnswer | undefined {
    return answers.get(keyOf(source, destination))
  }

  /** Counts one partner exchange (passed to the delivery context). */
  readonly observe = (exchange: PartnerExchange): void => {
    const traffic = this.#opened.get(keyOf(exchange.source, exchange.destination))?.traffic
    if (!traffic || !exchange.sent) return
    traffic.requests += 1
    if (isAuthFailure(exchange.response.status)) traffic.authFailures += 1
    else {
      traffic.afterOtherAnswer = true
      traffic.authFailures = 0
    }
  }

  /** A partner's 429 with a wait: the whole destination holds until `until`. */
  hold(source: string, destination: string, until: number): void {
    const traffic = this.#opened.get(keyOf(source, destination))?.traffic
    if (traffic) traffic.holdUntil = Math.max(traffic.holdUntil ?? 0, until)
  }

  /**
   * Reports what each destination did; returns the destinations now paused
   * (their pairs refused with 401/403 are parked, not failed). A report that
   * fails is logged: it costs a batch of rate-limit accounting, never an event.
   */
  async report(now: number): Promise<Map<string, PauseInfo>> {
    const paused = new Map<string, PauseInfo>()
    await Promise.all(
      [...this.#opened].map(async ([key, { request, grant, traffic }]) => {
        const limited = request.config.rateLimit !== null && grant.paused === null
        if (!limited && traffic.authFailures === 0 && grant.authFailures === 0 && traffic.holdUntil === null)
          return
        try {
          const pause = await destinationGate(this.env, request.source, request.destination).report(
            {
              now,
              limit: request.config.rateLimit,
              granted: grant.granted,
              requests: traffic.requests,
              holdUntil: traffic.holdUntil,
              authFailures: { count: traffic.authFailures, afterOtherAnswer: traffic.afterOtherAnswer },
              pauseAfterAuthFailures: request.config.pauseAfterAuthFailures,
            },
            request.source,
            request.destination,
          )
          if (pause) paused.set(key, pause)
        } catch {
          logWarn({
            msg: 'destination gate report failed',
            source: request.source,
            destination: request.destination,
          })
        }
      }),
    )
    return paused
  }

  pauseOf(source: string, destination: string, paused: Map<string, PauseInfo>): PauseInfo | undefined {
    return paused.get(keyOf(source, destination))
  }
}
