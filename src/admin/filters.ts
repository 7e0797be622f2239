import * as v from 'valibot'

/** Longest text a filter value may have: ids and names, never documents. */
export const MAX_FILTER_TEXT = 200

export const BoundedText = v.pipe(
  v.string('must be a string'),
  v.maxLength(MAX_FILTER_TEXT, `must be at most ${MAX_FILTER_TEXT} characters`),
)

/** Filter fields shared by the deliveries list, the stats and replay; each value bounded. */
export const DeliveryFilterEntries = {
  source: v.optional(BoundedText),
  messageId: v.optional(BoundedText),
  userId: v.optional(BoundedText),
  destination: v.optional(BoundedText),
  reason: v.optional(BoundedText),
}
