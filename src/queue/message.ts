import type { PairState } from '../ledger/state'
import type { SegmentEvent } from '../segment/schema'

/**
 * One Cloudflare Queue message: several accepted events of one source, packed
 * to stay under the 128 KB message limit. Per-destination progress lives in the
 * ledger, so a retried message re-sends only to destinations still pending.
 */
export interface DeliveryMessage {
  /** Source name from the config. */
  source: string
  /** Unique per accepted request (or per replay): tells our own retry apart from a client re-sending the same messageId. */
  ingestId: string
  events: SegmentEvent[]
  /** Replays: deliver only to these destinations. */
  only?: string[]
  /**
   * A continuation: outcomes partners already gave for these events, which the
   * ledger could not record at the time. Recorded before anything else is done,
   * so nothing is sent twice because the ledger failed (docs/storage.md, "Faults").
   */
  recorded?: CarriedOutcome[]
}

/** What one event's destinations answered, carried until the ledger takes it. */
export interface CarriedOutcome {
  messageId: string
  states: Record<string, PairState>
  /** A destination failed or dropped the event: keep its body for replay. */
  keepBody: boolean
}

/**
 * A delivery queue message's body as the queue holds it: the JSON text of a
 * DeliveryMessage, sent with contentType `text` (src/queue/produce.ts), or,
 * from before that form, the DeliveryMessage itself, sent with contentType
 * `json`. Messages of the old form may still be in a queue after an upgrade,
 * so the consumer reads both.
 */
export type QueuedDeliveryMessage = string | DeliveryMessage

/** The DeliveryMessage a queued body holds, whichever form it was sent in. */
export function readDeliveryMessage(body: QueuedDeliveryMessage): DeliveryMessage {
  return typeof body === 'string' ? (JSON.parse(body) as DeliveryMessage) : body
}
