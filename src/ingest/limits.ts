/**
 * Segment's documented Tracking API limits (segment-wire.md 1.7). KB = 1024
 * bytes, as analytics-node counts them, so anything the official libraries let
 * through is accepted here.
 */
import { jsonBytes } from '../lib/utf8'

export const MAX_REQUEST_BYTES = 500 * 1024
export const REQUEST_LIMIT_NAME = '500 KB per request'

export const MAX_EVENT_BYTES = 32 * 1024
export const EVENT_LIMIT_NAME = '32 KB per event'

/**
 * Not a Segment limit, ours: nesting deep enough overflows the runtime's
 * recursive serialisers (the queue's fails near 10,000 levels), which would
 * turn client input into a 500. No real event comes near 100 levels.
 */
export const MAX_EVENT_DEPTH = 100
export const DEPTH_LIMIT_NAME = '100 levels of nesting per event'

export const MAX_BATCH_EVENTS = 2_500
export const BATCH_LIMIT_NAME = '2,500 events per batch'

/**
 * Webhook bodies come from Segment's batching Webhooks (Actions) destination,
 * up to 4,000 events a request, so they get more room than the Tracking API.
 * Each event still obeys the 32 KB limit.
 */
export const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024
export const WEBHOOK_LIMIT_NAME = '5 MB per webhook request'
export const MAX_WEBHOOK_EVENTS = 4_000

/** Printable ASCII without `"` and `\\`: a JSON string of these is its length plus the quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** UTF-8 size of a string once JSON-encoded (quotes and escapes included). */
function jsonStringBytes(value: string): number {
  return PLAIN.test(value) ? value.length + 2 : jsonBytes(JSON.stringify(value))
}

/**
 * True when every string a JSON text holds, keys included, is written in JSON as its
 * characters between quotes, one byte each: the text is ASCII (as many UTF-8 bytes as
 * characters) and has no backslash, so no escape (a `"` inside a string needs one, and
 * raw control characters are not JSON). Two cheap checks of a request's text then spare
 * `measureJson` a test of each of its strings.
 */
export function holdsOnlyPlainStrings(jsonText: string, utf8Bytes: number): boolean {
  return utf8Bytes === jsonText.length && !jsonText.includes('\\')
}

/** True when a parsed JSON value nests more than `max` objects or arrays deep. Never recurses past `max`. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  return measureJson(value, max) === TOO_DEEP
}

/** `measureJson`'s answer for a value nested deeper than allowed. */
export const TOO_DEEP = -1

/**
 * The exact UTF-8 size of `JSON.stringify(value)` for a parsed JSON value, or
 * TOO_DEEP when it nests more than `maxDepth` objects or arrays. One walk does
 * both limit checks without building the JSON text, and never recurses past
 * `maxDepth`. Values JSON cannot hold (undefined, functions) are skipped in
 * objects and count as `null` in arrays, as JSON.stringify does. With
 * `plainStrings` (the value came from a text `holdsOnlyPlainStrings` passed),
 * a string's size is its length plus the quotes.
 * Kept for speed: JSON.stringify + UTF-8 length (twice: limit, then packing) plus a depth walk cost ~8 µs more per event, ~10 % of ingest CPU (bench/micro.ts).
 */
export function measureJson(value: unknown, maxDepth: number, plainStrings = false): number {
  return measure(value, 1, maxDepth, plainStrings)
}

function measure(value: unknown, depth: number, max: number, plain: boolean): number {
  switch (typeof value) {
    case 'string':
      return plain ? value.length + 2 : jsonStringBytes(value)
    case 'number':
      // JSON writes finite numbers as String does, and the others as null.
      return Number.isFinite(value) ? String(value).length : 4
    case 'boolean':
      return value ? 4 : 5
    case 'object':
      break
    default:
      return 4
  }
  if (value === null) return 4
  if (depth > max) return TOO_DEEP
  if (Array.isArray(value)) {
    let total = value.length === 0 ? 2 : value.length + 1 // brackets and commas
    for (const item of value) {
      const size = measure(item, depth + 1, max, plain)
      if (size === TOO_DEEP) return TOO_DEEP
      total += size
    }
    return total
  }
  let total = 1 // `{`; each member adds its comma or the closing `}`
  let members = 0
  const record = value as Record<string, unknown>
  for (const key in record) {
    const item = record[key]
    if (item === undefined || typeof item === 'function') continue
    const size = measure(item, depth + 1, max, plain)
    if (size === TOO_DEEP) return TOO_DEEP
    total += (plain ? key.length + 2 : jsonStringBytes(key)) + 1 + size + 1 // "key":value and , or }
    members += 1
  }
  return members === 0 ? 2 : total
}
