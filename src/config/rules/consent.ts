import * as v from 'valibot'

/**
 * Consent as Segment's Consent Management sends it, on every call (identify calls
 * that only carry a consent change included): `context.consent.categoryPreferences`,
 * e.g. `{ "Advertising": false, "Analytics": true }`.
 */

/** A destination's `consent`: the categories it needs, each of which must be granted. */
export const ConsentCategoriesSchema = v.pipe(
  v.array(
    v.pipe(
      v.string('a consent category must be a string'),
      v.minLength(1, 'a consent category must not be empty'),
    ),
    'consent must be an array of category names, e.g. ["Advertising"]',
  ),
  v.minLength(1, 'consent must list at least one category'),
)

/** A source's `consentMissing`: what happens, for destinations that need consent, to events without it. */
export const ConsentMissingSchema = v.optional(
  v.picklist(['send', 'drop'], 'consentMissing must be "send" or "drop"'),
  'send',
)
export type ConsentMissing = v.InferOutput<typeof ConsentMissingSchema>
