import * as v from 'valibot'

/** A JSON object: not null, not an array (both are `typeof 'object'`). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * `v.object` that refuses arrays: valibot's object schema accepts any non-null
 * object, so `[]` would pass as an object with no keys (an empty filter, say).
 * `message` is for a non-object only: `v.object` would also give it to an absent
 * key, so it gets none and `toInputIssues` words that issue ("messageId is required").
 */
export function plainObject<const E extends v.ObjectEntries>(entries: E, message = 'must be a JSON object') {
  return v.pipe(v.custom<Record<string, unknown>>(isPlainObject, message), v.object(entries))
}

/**
 * A JSON object with exactly these keys: a misspelt key in a privacy rule (`iff`,
 * `hsah`) must be refused, not silently ignored as `v.object` would. `message` is
 * for a non-object only, as in `plainObject`.
 */
export function exactObject<const E extends v.ObjectEntries>(entries: E, message: string) {
  const known = Object.keys(entries)
  return v.pipe(
    v.custom<Record<string, unknown>>(isPlainObject, message),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return
      for (const key of Object.keys(dataset.value))
        if (!known.includes(key)) addIssue({ message: `unknown key "${key}" (expected ${known.join(', ')})` })
    }),
    // No message: the check above refuses non-objects; this one's would word absent keys.
    v.object(entries),
  )
}
