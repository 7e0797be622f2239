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
