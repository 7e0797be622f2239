import { memoizeByObject } from '../../lib/memo'
import { isPlainObject } from '../../lib/objects'
import { classifyResponse } from '../classify'
import type { DeliveryContext, DeliveryOutcome, PartnerRequest, PartnerResponse } from '../types'
import type { CrowdPowerSettings } from './settings'

/** The public Beacon API, which takes the project public key (partners.md §3.2). */
export const CROWDPOWER_BEACON_ORIGIN = 'https://beacon.crowdpower.io'

/** The bearer header, computed once per settings object, read-only. */
export const crowdPowerHeaders = memoizeByObject(
  (settings: CrowdPowerSettings): Readonly<Record<string, string>> =>
    Object.freeze({ authorization: `Bearer ${settings.apiKey}` }),
)

export function sendToCrowdPower(
  context: DeliveryContext<CrowdPowerSettings>,
  request: PartnerRequest,
): Promise<PartnerResponse> {
  return context.send({ ...request, headers: { ...request.headers, ...crowdPowerHeaders(context.settings) } })
}

/**
 * The partner's reason from an error body. The shape is UNCONFIRMED (§3.3): assume
 * `{"success": false, "code": <status>, "message": "..."}`; the message is kept, short.
 */
export function crowdPowerErrorReason(body: unknown): string | undefined {
  if (!isPlainObject(body) || body.success !== false) return undefined
  if (typeof body.message !== 'string' || body.message === '') return undefined
  return body.message.length > 120 ? `${body.message.slice(0, 117)}...` : body.message
}

/** Rate limits and 5xx are retried (assumed, §3.3); CrowdPower publishes no retry hint besides Retry-After. */
export function classifyCrowdPowerResponse(response: PartnerResponse, now: number): DeliveryOutcome {
  const partnerReason = crowdPowerErrorReason(response.body)
  return classifyResponse(response, { now, ...(partnerReason !== undefined && { partnerReason }) })
}
