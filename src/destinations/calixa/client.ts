/**
 * Segment's direct-destination protocol as Calixa received it (partners.md §0.3, §4.2):
 * raw event JSON, Basic auth with the API key as user, the other settings in
 * `X-Segment-Settings`, and `{"message": "..."}` bodies on errors.
 */

import { base64Json, basicAuthorization } from '../../lib/crypto'
import { memoizeByObject } from '../../lib/memo'
import { isPlainObject } from '../../lib/objects'
import { classifyResponse } from '../classify'
import type { DeliveryOutcome, PartnerResponse } from '../types'
import type { CalixaSettings } from './settings'

/** Settings that never go to the partner in `X-Segment-Settings`: the key (it is the Basic user) and the router's own. */
const NOT_FORWARDED = new Set(['apiKey', 'enabled', 'apiBase'])

/** Every setting except `apiKey` and the router's `enabled`/`apiBase`. */
export function forwardedSettings(settings: CalixaSettings): Record<string, unknown> {
  return Object.fromEntries(Object.entries(settings).filter(([name]) => !NOT_FORWARDED.has(name)))
}

/** The headers Segment sent to direct destinations; computed once per settings object, read-only. */
export const directDestinationHeaders = memoizeByObject(
  (settings: CalixaSettings): Readonly<Record<string, string>> =>
    Object.freeze({
      authorization: basicAuthorization(settings.apiKey),
      'x-segment-settings': base64Json(forwardedSettings(settings)),
      'user-agent': 'Segment.io/1.0',
      'content-type': 'application/json',
      accept: 'application/json',
      'cache-control': 'no-cache',
    }),
)

/**
 * 200/202 delivered; 400/401/403 and 501 (unsupported call type) permanent;
 * 500/503 retried (classifyResponse); the optional `message` is kept as the reason.
 */
export function classifyCalixaResponse(response: PartnerResponse, now: number): DeliveryOutcome {
  const message = isPlainObject(response.body) ? response.body.message : undefined
  return classifyResponse(response, {
    now,
    ...(typeof message === 'string' && message !== '' && { partnerReason: message }),
  })
}
