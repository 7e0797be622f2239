import type * as v from 'valibot'
import type { AttemptOutcome } from '../ledger/state'
import type { CallType, SegmentEvent } from '../segment/schema'

/** What happened when one event was handed to one destination: the ledger's vocabulary. */
export type DeliveryOutcome = AttemptOutcome

/**
 * The result of one partner call inside a delivery: `ok` with what the call
 * produced (a status, a response, a session, a declared property), or the
 * outcome that ends the item.
 */
export type CallResult<T extends object> = ({ ok: true } & T) | { ok: false; outcome: DeliveryOutcome }

/** One event handed to a destination, with how many times this pair was tried before. */
export interface DeliveryItem {
  event: SegmentEvent
  /** 1 on the first try. */
  attempt: number
}

/** Partner state in KV, namespaced per destination and source (see docs/storage.md). */
export interface PartnerState {
  get<T>(key: string): Promise<T | undefined>
  put(key: string, value: unknown, options?: { expirationTtl?: number }): Promise<void>
}

/** A partner API request, relative to the destination's `apiBase`. */
export interface PartnerRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Path of the real partner API, e.g. `/v1/website/{id}/people/profile`; or an absolute URL. */
  path: string
  headers?: Record<string, string>
  /** Sent as JSON. */
  body?: unknown
}

/** A partner's answer, already read. `body` is parsed JSON when it parses, else the text. */
export interface PartnerResponse {
  status: number
  headers: Headers
  body: unknown
}

/** Everything a destination may use while delivering; built by the consumer. */
export interface DeliveryContext<S> {
  settings: S
  /** The partner's origin (setting `apiBase`, else the destination's production origin). */
  apiBase: string
  source: string
  state: PartnerState
  /**
   * Sends one request with the router's timeout and the destination's concurrency
   * cap. Network errors and timeouts resolve to `{ status: 0 }` with `body` the error text.
   */
  send(request: PartnerRequest): Promise<PartnerResponse>
  /** Current time in ms (injectable for tests and replays). */
  now(): number
}

/** A ceiling on partner requests: at most `requests` per `perSeconds`, bursts up to `requests`. */
export interface RateLimit {
  requests: number
  perSeconds: number
}

export interface DestinationDefinition<S = unknown> {
  /** Segment catalog name: the config key and the `integrations` key (case sensitive). */
  name: string
  /** Settings schema, Segment setting names; `enabled` and `apiBase` are handled by the router. */
  settings: v.GenericSchema<unknown, S>
  /** Production origin used when `apiBase` is not set; undefined when there is none (Calixa). */
  defaultApiBase?: string
  /** The partner's documented quota (partners.md) for these settings, the ceiling when a config sets none. */
  defaultRateLimit?(settings: S): RateLimit | undefined
  /** Call types the destination accepts; others are dropped `unsupported_call` before `deliver` is called. */
  accepts: readonly CallType[]
  /** Setting names whose values are secrets (redacted in GET /admin/config and the dashboard). */
  secretSettings: readonly string[]
  /**
   * Delivers the items (one consumer batch, identifies first) and returns one
   * outcome per item, in order. Must not throw for partner failures: classify them.
   */
  deliver(items: DeliveryItem[], context: DeliveryContext<S>): Promise<DeliveryOutcome[]>
}
