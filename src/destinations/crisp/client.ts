import { basicAuthorization } from '../../lib/crypto'
import { memoizeByObject } from '../../lib/memo'
import { isPlainObject } from '../../lib/objects'
import { classifyResponse } from '../classify'
import type { DeliveryContext, DeliveryOutcome, PartnerRequest, PartnerResponse } from '../types'
import { type CrispSettings, crispKeypair } from './settings'

/** Crisp's REST API origin (`DEFAULT_REST_HOST` of crisp-api); paths carry `/v1/`. */
export const CRISP_API_ORIGIN = 'https://api.crisp.chat'

/**
 * Basic auth with the token keypair plus the tier header Crisp requires on every
 * request (partners.md §2.2); computed once per settings object, read-only.
 */
export const crispHeaders = memoizeByObject((settings: CrispSettings): Readonly<Record<string, string>> => {
  const { identifier, key } = crispKeypair(settings)
  return Object.freeze({ authorization: basicAuthorization(identifier, key), 'x-crisp-tier': settings.tier })
})

export function sendToCrisp(
  context: DeliveryContext<CrispSettings>,
  request: PartnerRequest,
): Promise<PartnerResponse> {
  return context.send({ ...request, headers: { ...request.headers, ...crispHeaders(context.settings) } })
}

/** The `reason` of Crisp's error envelope `{"error": true, "reason": "...", "data": {...}}` (§2.5). */
export function crispErrorReason(body: unknown): string | undefined {
  if (!isPlainObject(body) || body.error !== true) return undefined
  return typeof body.reason === 'string' && body.reason !== '' ? body.reason : undefined
}

export function isCrispReason(response: PartnerResponse, reason: string): boolean {
  return crispErrorReason(response.body) === reason
}

/** Crisp signals rate limits with 429 or 420 "Enhance Your Calm" (§2.6): 420 is retried like 429. */
const CRISP_RATE_LIMIT_STATUS = 420

export function classifyCrispResponse(response: PartnerResponse, now: number): DeliveryOutcome {
  const partnerReason = crispErrorReason(response.body)
  const options = { now, ...(partnerReason !== undefined && { partnerReason }) }
  if (response.status !== CRISP_RATE_LIMIT_STATUS) return classifyResponse(response, options)
  const outcome = classifyResponse(
    { ...response, status: 429 },
    { ...options, partnerReason: partnerReason ?? `http_${CRISP_RATE_LIMIT_STATUS}` },
  )
  return outcome.status === 'retry' ? { ...outcome, partnerStatus: CRISP_RATE_LIMIT_STATUS } : outcome
}
