import * as v from 'valibot'
import { BoundedText } from '../lib/query-values'

// Defined in lib/ since the funnel's query (shared with the dashboard) takes it too.
export { BoundedText }

/** Filter fields shared by the deliveries list, the stats and replay; each value bounded. */
export const DeliveryFilterEntries = {
  source: v.optional(BoundedText),
  messageId: v.optional(BoundedText),
  userId: v.optional(BoundedText),
  destination: v.optional(BoundedText),
  reason: v.optional(BoundedText),
}
