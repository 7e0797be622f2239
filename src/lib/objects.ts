import * as v from 'valibot'

/** A JSON object: not null, not an array (both are `typeof 'object'`). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * `v.object` that refuses arrays: valibot's object schema accepts any non-null
 * object, so `[]` would pass as an object with no keys (an empty filter, say).
 */
export function plainObject<const E extends v.ObjectEntries>(entries: E, message = 'must be a JSON object') {
  return v.pipe(v.custom<Record<string, unknown>>(isPlainObject, message), v.object(entries, message))
}
