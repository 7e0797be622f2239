import type {
  DeliveryContext,
  DeliveryItem,
  DeliveryOutcome,
  DestinationDefinition,
  PartnerRequest,
} from '../types'
import { CROWDPOWER_BEACON_ORIGIN, classifyCrowdPowerResponse, sendToCrowdPower } from './client'
import {
  type CrowdPowerCharge,
  type CrowdPowerCustomer,
  type CrowdPowerEvent,
  type CrowdPowerUser,
  chargeRequest,
  chargesBulkRequest,
  customerRequest,
  customersBulkRequest,
  eventRequest,
  eventsBulkRequest,
  mapEventToCrowdPower,
} from './mapping'
import { CROWDPOWER_NAME, type CrowdPowerSettings, CrowdPowerSettingsSchema } from './settings'

type CrowdPowerContext = DeliveryContext<CrowdPowerSettings>

/**
 * Items per bulk request. CrowdPower publishes no bulk limit (UNCONFIRMED); 100 keeps
 * bodies well under any sane request limit while still saving most requests.
 */
export const CROWDPOWER_BULK_LIMIT = 100

/** One request and the items whose outcome it decides. */
interface PlannedRequest {
  request: PartnerRequest
  indexes: number[]
}

function chunks<T>(values: T[], size: number): T[][] {
  const result: T[][] = []
  for (let start = 0; start < values.length; start += size) result.push(values.slice(start, start + size))
  return result
}

/** Customers: one `/customers` for a single identify, `/customers/bulk` (any users) for several. */
function planCustomers(customers: { index: number; customer: CrowdPowerCustomer }[]): PlannedRequest[] {
  return chunks(customers, CROWDPOWER_BULK_LIMIT).map((chunk) => ({
    request:
      chunk.length === 1 && chunk[0]
        ? customerRequest(chunk[0].customer)
        : customersBulkRequest(chunk.map(({ customer }) => customer)),
    indexes: chunk.map(({ index }) => index),
  }))
}

/** Events and charges: the bulk routes are per user, so group by user first (in item order). */
function planPerUser<T>(
  entries: { index: number; user: CrowdPowerUser; body: T }[],
  single: (user: CrowdPowerUser, body: T) => PartnerRequest,
  bulk: (user: CrowdPowerUser, bodies: T[]) => PartnerRequest,
): PlannedRequest[] {
  const byUser = new Map<string, { user: CrowdPowerUser; entries: { index: number; body: T }[] }>()
  for (const { index, user, body } of entries) {
    const key = user.user_id !== undefined ? `user_id:${user.user_id}` : `email:${user.email}`
    const group = byUser.get(key) ?? { user, entries: [] }
    group.entries.push({ index, body })
    byUser.set(key, group)
  }
  return [...byUser.values()].flatMap(({ user, entries: group }) =>
    chunks(group, CROWDPOWER_BULK_LIMIT).map((chunk) => ({
      request:
        chunk.length === 1 && chunk[0]
          ? single(user, chunk[0].body)
          : bulk(
              user,
              chunk.map(({ body }) => body),
            ),
      indexes: chunk.map(({ index }) => index),
    })),
  )
}

async function sendPlanned(
  planned: PlannedRequest[],
  context: CrowdPowerContext,
  outcomes: DeliveryOutcome[],
): Promise<void> {
  await Promise.all(
    planned.map(async ({ request, indexes }) => {
      const response = await sendToCrowdPower(context, request)
      // A bulk request succeeds or fails as a whole: every item in it gets its outcome.
      const outcome = classifyCrowdPowerResponse(response, context.now())
      for (const index of indexes) outcomes[index] = outcome
    }),
  )
}

/**
 * Maps every item, then sends customers first (so an identify lands before the
 * same user's events in this batch), then events and charges. Several items for
 * the same route (and user, for events and charges) share one bulk request.
 */
export async function deliverToCrowdPower(
  items: DeliveryItem[],
  context: CrowdPowerContext,
): Promise<DeliveryOutcome[]> {
  const outcomes: DeliveryOutcome[] = items.map(() => ({ status: 'retry', error: 'not_sent' }))
  const customers: { index: number; customer: CrowdPowerCustomer }[] = []
  const events: { index: number; user: CrowdPowerUser; body: CrowdPowerEvent }[] = []
  const charges: { index: number; user: CrowdPowerUser; body: CrowdPowerCharge }[] = []
  for (const [index, item] of items.entries()) {
    const call = mapEventToCrowdPower(item.event, context.settings)
    if (call.route === 'drop')
      outcomes[index] = { status: 'dropped', reason: call.reason, detail: call.detail }
    else if (call.route === 'customers') customers.push({ index, customer: call.customer })
    else if (call.route === 'events') events.push({ index, user: call.user, body: call.event })
    else charges.push({ index, user: call.user, body: call.charge })
  }
  await sendPlanned(planCustomers(customers), context, outcomes)
  await sendPlanned(
    [
      ...planPerUser(events, eventRequest, eventsBulkRequest),
      ...planPerUser(charges, chargeRequest, chargesBulkRequest),
    ],
    context,
    outcomes,
  )
  return outcomes
}

export const crowdPowerDestination: DestinationDefinition<CrowdPowerSettings> = {
  name: CROWDPOWER_NAME,
  settings: CrowdPowerSettingsSchema,
  defaultApiBase: CROWDPOWER_BEACON_ORIGIN,
  accepts: ['identify', 'track', 'page'],
  secretSettings: ['apiKey'],
  deliver: deliverToCrowdPower,
}
