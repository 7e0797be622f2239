import type { DeliveryContext, DeliveryItem, DeliveryOutcome, DestinationDefinition } from '../types'
import { classifyCalixaResponse } from './client'
import { mapEventToCalixaRequest } from './mapping'
import { CALIXA_NAME, type CalixaSettings, CalixaSettingsSchema } from './settings'

/** One POST per event, as Segment's direct-destination protocol has no batch form. */
async function deliverToCalixa(
  items: DeliveryItem[],
  context: DeliveryContext<CalixaSettings>,
): Promise<DeliveryOutcome[]> {
  return Promise.all(
    items.map(async ({ event }): Promise<DeliveryOutcome> => {
      const request = mapEventToCalixaRequest(event, context.settings)
      if ('status' in request) return request
      return classifyCalixaResponse(await context.send(request), context.now())
    }),
  )
}

/** No `defaultApiBase`: Calixa never published its webhook URL, so `endpoint` must be configured. */
export const calixaDestination: DestinationDefinition<CalixaSettings> = {
  name: CALIXA_NAME,
  settings: CalixaSettingsSchema,
  accepts: ['identify', 'track', 'group'],
  secretSettings: ['apiKey'],
  deliver: deliverToCalixa,
}
