import { RouterError } from '../lib/errors'
import { logWarn } from '../lib/log'
import { jsonBytes } from '../lib/utf8'
import type { SegmentEvent } from '../segment/schema'
import type { CarriedOutcome, DeliveryMessage } from './message'

/** Queues allow 128 KB per message including metadata; events are packed up to this much JSON. */
const MAX_MESSAGE_BYTES = 120_000
/** sendBatch allows 100 messages and 256 KB per call. */
const MAX_SEND_MESSAGES = 100
const MAX_SEND_BYTES = 250_000

/**
 * A message is the JSON text of its DeliveryMessage, sent as `text`: the queue
 * counts exactly its UTF-8 bytes, which packing measures (the default v8
 * serialisation doubles strings holding any non-Latin-1 character), and nothing
 * on the way parses or re-serialises it (under `wrangler dev` the local queue,
 * in the worker's own process, re-parses and re-encodes a `json` body).
 */
const CONTENT_TYPE: QueueContentType = 'text'

interface Packed {
  /** The JSON text of one DeliveryMessage. */
  body: string
  /** Its UTF-8 bytes. */
  bytes: number
}

/**
 * Hands a request's accepted events to the delivery queue, in as few messages and
 * calls as the limits let packing find, and returns only once every call has succeeded:
 * the client's 200 means the events are safe. The HTTP API and the webhook both
 * end here.
 */
export async function enqueueEvents(
  queue: Queue<string>,
  source: string,
  events: readonly SegmentEvent[],
  replay?: { ingestId: string; only: string[] },
): Promise<void> {
  const packed = packMessages(
    { source, ingestId: replay?.ingestId ?? newIngestId(), ...(replay && { only: replay.only }) },
    events,
  )
  try {
    await sendPacked(queue, packed)
  } catch (error) {
    logWarn({ msg: 'queue refused events', source, count: events.length, reason: (error as Error).message })
    // Whatever was queued before the failure is delivered once: the client's
    // retry carries the same messageIds, and the ledger skips those already seen.
    throw new RouterError(
      503,
      'queue_unavailable',
      'the delivery queue is unavailable; retry the request',
      undefined,
      { 'Retry-After': '5' },
    )
  }
}

/**
 * An id for one accepted request: 96 random bits in 16 characters (base64url).
 * Stored with every event in the ledger, so shorter than a UUID's 36.
 */
function newIngestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
}

/**
 * Sends a consumed message on as a continuation: the same events and owner,
 * with the outcomes partners gave that the ledger has not recorded yet
 * (src/queue/consume.ts), after `delaySeconds`. Throws when the queue refuses it.
 */
export async function enqueueContinuation(
  queue: Queue<string>,
  message: DeliveryMessage,
  recorded: readonly CarriedOutcome[],
  delaySeconds = 0,
): Promise<void> {
  const envelope = {
    source: message.source,
    ingestId: message.ingestId,
    ...(message.only && { only: message.only }),
  }
  await sendPacked(queue, packMessages(envelope, message.events, recorded), delaySeconds)
}

async function sendPacked(queue: Queue<string>, packed: Packed[], delaySeconds = 0): Promise<void> {
  const [only] = packed
  const delay = delaySeconds > 0 ? { delaySeconds } : {}
  // Almost every request packs into one message: a plain `send` (under `wrangler dev`
  // the local queue takes it without the base64 JSON envelope of a `sendBatch`).
  if (packed.length === 1 && only) await queue.send(only.body, { contentType: CONTENT_TYPE, ...delay })
  else {
    for (const chunk of chunkSends(packed)) {
      await queue.sendBatch(
        chunk.map((item) => ({ body: item.body, contentType: CONTENT_TYPE })),
        delay,
      )
    }
  }
}

/**
 * Packs events in order into messages of at most MAX_MESSAGE_BYTES: the whole
 * list as one message when it fits (almost every request), else each half on its
 * own, recursively. Every event is at most 32 KB (normalize.ts), so one always fits.
 * Each message carries the outcomes of its own events.
 */
function packMessages(
  envelope: Omit<DeliveryMessage, 'events' | 'recorded'>,
  events: readonly SegmentEvent[],
  recorded: readonly CarriedOutcome[] = [],
): Packed[] {
  const ids = new Set(events.map((event) => event.messageId))
  const outcomes = recorded.filter((outcome) => ids.has(outcome.messageId))
  const message: DeliveryMessage = {
    ...envelope,
    events: [...events],
    ...(outcomes.length > 0 && { recorded: outcomes }),
  }
  const body = JSON.stringify(message)
  const bytes = jsonBytes(body)
  if (bytes <= MAX_MESSAGE_BYTES || events.length === 1) return [{ body, bytes }]
  const half = Math.ceil(events.length / 2)
  return [
    ...packMessages(envelope, events.slice(0, half), outcomes),
    ...packMessages(envelope, events.slice(half), outcomes),
  ]
}

function chunkSends(packed: readonly Packed[]): Packed[][] {
  const chunks: Packed[][] = []
  let current: Packed[] = []
  let bytes = 0
  for (const item of packed) {
    if (current.length === MAX_SEND_MESSAGES || (current.length > 0 && bytes + item.bytes > MAX_SEND_BYTES)) {
      chunks.push(current)
      current = []
      bytes = 0
    }
    current.push(item)
    bytes += item.bytes
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}
