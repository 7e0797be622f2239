import type { ConsentMissing } from '../config/rules/consent'
import { isPlainObject } from '../lib/objects'
import type { SegmentEvent } from '../segment/schema'

/**
 * Consent as Segment's Consent Management sends it, on every call (identify calls
 * that only carry a consent change included): `context.consent.categoryPreferences`,
 * e.g. `{ "Advertising": false, "Analytics": true }`.
 */

export type ConsentDrop = { drop: 'consent_missing' | 'consent_denied'; detail: string }

/**
 * Why an event may not go to a destination that needs these categories, or
 * undefined when it may. A category must be `true`: `false`, or absent from
 * preferences that are present, is not consent.
 */
export function consentDrop(
  event: SegmentEvent,
  categories: readonly string[],
  missing: ConsentMissing,
): ConsentDrop | undefined {
  const consent = event.context?.consent
  const preferences = isPlainObject(consent) ? consent.categoryPreferences : undefined
  if (!isPlainObject(preferences)) {
    return missing === 'drop'
      ? { drop: 'consent_missing', detail: 'no context.consent.categoryPreferences' }
      : undefined
  }
  for (const category of categories) {
    if (!Object.hasOwn(preferences, category) || preferences[category] !== true)
      return { drop: 'consent_denied', detail: `${category} not granted` }
  }
  return undefined
}
