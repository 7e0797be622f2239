/**
 * Segment's documented Tracking API limits (segment-wire.md 1.7). KB = 1024
 * bytes, as analytics-node counts them, so anything the official libraries let
 * through is accepted here.
 */
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

const encoder = new TextEncoder()
/** A string without these UTF-16 units (all non-ASCII) is as many UTF-8 bytes as units. */
const NON_ASCII = /[\u0080-\uffff]/

/** UTF-8 size of a JSON text, the unit every limit above is expressed in. */
export function jsonBytes(json: string): number {
  // Most event JSON is ASCII: one regex test instead of encoding a copy.
  return NON_ASCII.test(json) ? encoder.encode(json).byteLength : json.length
}

/** True when a parsed JSON value nests more than `max` objects or arrays deep. Never recurses past `max`. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  return deeperThan(value, 1, max)
}

function deeperThan(value: unknown, depth: number, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (depth > max) return true
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, depth + 1, max)) return true
    return false
  }
  for (const key in value) {
    if (deeperThan((value as Record<string, unknown>)[key], depth + 1, max)) return true
  }
  return false
}
