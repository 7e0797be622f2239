import { createHash } from 'node:crypto'
import { type InputIssue, toInputIssues } from '../lib/errors'
import { measureJson, TOO_DEEP } from '../lib/json-size'
import { isPlainObject } from '../lib/objects'
import { parseSegmentEvent, type SegmentEvent } from '../segment/schema'
import { DEPTH_LIMIT_NAME, EVENT_LIMIT_NAME, MAX_EVENT_BYTES, MAX_EVENT_DEPTH } from './limits'

export type JsonRecord = Record<string, unknown>

/** What a Tracking API batch sets once for all its items. */
export interface BatchDefaults {
  context?: JsonRecord
  integrations?: JsonRecord
  sentAt?: string
}

export interface NormalizeOptions {
  /** Source name; part of a filled-in messageId. */
  source: string
  /** Server time of the request, ISO. */
  now: string
  /**
   * `tracking`: events from a client library, whose times Segment's API derives.
   * `processed`: events Segment already stamped (webhooks), whose times are kept.
   */
  times: 'tracking' | 'processed'
  /** Where issues are reported: `batch.3`, `0`, or `` for a lone event. */
  path: string
  defaults?: BatchDefaults
}

export type Outcome =
  | { ok: true; event: SegmentEvent }
  | { ok: false; tooLarge: boolean; messageId?: string; issues: InputIssue[] }

/**
 * Turns one raw item into the event we queue, as Segment's servers would:
 * batch defaults merged in, the write key (a credential) dropped, size and
 * Spec checked, messageId and times filled in.
 */
export function normalizeEvent(raw: unknown, options: NormalizeOptions): Outcome {
  const item = isPlainObject(raw) ? withoutWriteKey(raw) : raw
  const merged = isPlainObject(item) ? withDefaults(item, options.defaults) : item
  const clientMessageId = isPlainObject(raw) && typeof raw.messageId === 'string' ? raw.messageId : undefined

  // Measured before our own stamps, as the client libraries measure, so whatever
  // they let through passes; the merged batch context counts because it is queued.
  const bytes = measureJson(merged, MAX_EVENT_DEPTH)
  if (bytes === TOO_DEEP) {
    const message = `the event exceeds the limit of ${DEPTH_LIMIT_NAME}`
    return {
      ok: false,
      tooLarge: false,
      messageId: clientMessageId,
      issues: [{ path: options.path, message }],
    }
  }
  if (bytes > MAX_EVENT_BYTES) {
    const message = `the event is ${bytes} bytes, over the limit of ${EVENT_LIMIT_NAME}`
    return {
      ok: false,
      tooLarge: true,
      messageId: clientMessageId,
      issues: [{ path: options.path, message }],
    }
  }

  const parsed = parseSegmentEvent(merged)
  if (!parsed.success) {
    return {
      ok: false,
      tooLarge: false,
      messageId: clientMessageId,
      issues: toInputIssues(parsed.issues, options.path),
    }
  }
  const input = parsed.output
  const messageId = input.messageId ?? derivedMessageId(options.source, options.defaults?.sentAt, item)

  // valibot's looseObject output is already a copy of the item: stamped in place, not copied again.
  const event = input as SegmentEvent
  if (options.times === 'processed') {
    const receivedAt = input.receivedAt ?? options.now
    const timestamp = input.timestamp ?? correctedTimestamp(receivedAt, input.sentAt, input.originalTimestamp)
    event.messageId = messageId
    event.receivedAt = receivedAt
    event.timestamp = timestamp
    return { ok: true, event }
  }

  // A client's `timestamp` is when the event happened by its own clock: Segment calls that originalTimestamp.
  const originalTimestamp = input.timestamp ?? input.originalTimestamp
  const sentAt = input.sentAt ?? options.defaults?.sentAt
  const timestamp = correctedTimestamp(options.now, sentAt, originalTimestamp)
  event.messageId = messageId
  event.receivedAt = options.now
  event.timestamp = timestamp
  if (originalTimestamp !== undefined) event.originalTimestamp = originalTimestamp
  if (sentAt !== undefined) event.sentAt = sentAt
  return { ok: true, event }
}

function withoutWriteKey(item: JsonRecord): JsonRecord {
  if (!Object.hasOwn(item, 'writeKey')) return item
  const { writeKey: _credential, ...rest } = item
  return rest
}

/** Batch-level context and integrations under each item's own (item keys win, one level deep). */
function withDefaults(item: JsonRecord, defaults: BatchDefaults | undefined): JsonRecord {
  if (defaults?.context === undefined && defaults?.integrations === undefined) return item
  const merged = { ...item }
  for (const key of ['context', 'integrations'] as const) {
    const shared = defaults?.[key]
    const own = item[key]
    if (shared === undefined) continue
    if (own === undefined) merged[key] = shared
    else if (isPlainObject(own)) merged[key] = { ...shared, ...own }
    // Any other value stays as sent, for validation to report.
  }
  return merged
}

/**
 * A messageId for an event sent without one. It is derived from the request,
 * not random, so a client retrying the same request (say after our 503, when
 * part of it was already queued) produces the same ids and the ledger drops the
 * duplicates. sentAt tells apart identical events sent in separate requests.
 */
function derivedMessageId(source: string, sentAt: string | undefined, item: unknown): string {
  // node:crypto's hash is synchronous (nodejs_compat): normalising stays one plain call per event.
  const digest = createHash('sha256')
    .update(JSON.stringify([source, sentAt ?? null, item]))
    .digest('hex')
  return `rtr-${digest}`
}

/** The instants `toISOString` writes with a four-digit year: 0000-01-01 to 9999-12-31. */
const EARLIEST_ISO_MS = -62_167_219_200_000
const LATEST_ISO_MS = 253_402_300_799_999

/**
 * Segment's clock-skew correction: `receivedAt − (sentAt − originalTimestamp)`.
 * The device clock may be wrong, but the interval it measured between the event
 * and the send is trusted. Without sentAt the client's time is all there is;
 * without any client time, the server's.
 */
function correctedTimestamp(
  receivedAt: string,
  sentAt: string | undefined,
  originalTimestamp: string | undefined,
): string {
  if (originalTimestamp === undefined) return receivedAt
  if (sentAt === undefined) return originalTimestamp
  const ms = Date.parse(receivedAt) - (Date.parse(sentAt) - Date.parse(originalTimestamp))
  // Valid by the schema's pattern yet unparsable here (e.g. a `+05` offset), or pushed out of range by a spoofed clock.
  if (!Number.isFinite(ms) || ms < EARLIEST_ISO_MS || ms > LATEST_ISO_MS) return originalTimestamp
  return new Date(ms).toISOString()
}
