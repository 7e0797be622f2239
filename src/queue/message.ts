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

/**
 * A delivery queue message's body as the queue holds it: the JSON text of a
 * DeliveryMessage, sent with contentType `text` (src/ingest/enqueue.ts), or,
 * from before that form, the DeliveryMessage itself, sent with contentType
 * `json`. Messages of the old form may still be in a queue after an upgrade,
 * so the consumer reads both.
 */
export type QueuedDeliveryMessage = string | DeliveryMessage

/** The DeliveryMessage a queued body holds, whichever form it was sent in. */
export function readDeliveryMessage(body: QueuedDeliveryMessage): DeliveryMessage {
  return typeof body === 'string' ? (JSON.parse(body) as DeliveryMessage) : body
}

/** The batch the queue delivers, with each body read once; acks and retries go to the queue's own messages. */
export function readDeliveryBatch(batch: MessageBatch<QueuedDeliveryMessage>): MessageBatch<DeliveryMessage> {
  return {
    queue: batch.queue,
    metadata: batch.metadata,
    messages: batch.messages.map((message) => ({
      id: message.id,
      timestamp: message.timestamp,
      attempts: message.attempts,
      body: readDeliveryMessage(message.body),
      ack: () => message.ack(),
      retry: (options) => message.retry(options),
    })),
    ackAll: () => batch.ackAll(),
    retryAll: (options) => batch.retryAll(options),
  }
}
