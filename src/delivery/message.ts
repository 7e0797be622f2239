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
}
