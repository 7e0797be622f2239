/** Value conversions partners need for Segment traits and properties. */

/** A value every partner's flat key/value store accepts. */
export type ScalarValue = string | number | boolean

export function isScalar(value: unknown): value is ScalarValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  )
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** ISO-8601 date (`2024-05-01`) or date-time (`2024-05-01T10:00:00Z`, with optional fraction and offset). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/

/** Only ISO-8601 strings count as dates: numbers and free text are left alone. */
export function isIsoDateString(value: unknown): value is string {
  return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))
}

/** ISO-8601 → Unix seconds (UTC; a date-time without offset is read as UTC, as Workers run in UTC). */
export function isoToUnixSeconds(iso: string): number | undefined {
  if (!isIsoDateString(iso)) return undefined
  return Math.floor(Date.parse(iso) / 1000)
}

/** A flattened value that may also be a list of scalars (partners with list-valued properties). */
export type ScalarOrList = ScalarValue | ScalarValue[]

interface FlattenOptions<Arrays extends 'join' | 'drop' | 'keep'> {
  /** Converts one key segment (e.g. `sanitizeKey`); a segment that becomes '' is dropped with its value. */
  key: (segment: string) => string
  /** Joins a parent and child key: `address` + `city` → `address_city`. */
  separator: string
  /**
   * Arrays of scalars: `join` makes one string (`"a, b"`), `drop` leaves them out, `keep` keeps
   * the list (Crossing Minds `repeated` properties). Arrays holding objects or nulls are always
   * left out: a flat store cannot hold them usefully.
   */
  arrays: Arrays
}

/**
 * Flattens a traits/properties object: nested objects become joined keys
 * (`{address: {city}}` → `address_city`); null/undefined and non-finite numbers
 * are left out.
 */
export function flattenValues<Arrays extends 'join' | 'drop' | 'keep'>(
  input: Record<string, unknown>,
  options: FlattenOptions<Arrays>,
): Record<string, Arrays extends 'keep' ? ScalarOrList : ScalarValue> {
  const output: Record<string, ScalarOrList> = {}
  const visit = (object: Record<string, unknown>, prefix: string) => {
    for (const [rawKey, value] of Object.entries(object)) {
      const segment = options.key(rawKey)
      if (segment === '') continue
      const key = prefix === '' ? segment : `${prefix}${options.separator}${segment}`
      if (isScalar(value)) output[key] = value
      else if (isPlainObject(value)) visit(value, key)
      else if (Array.isArray(value) && value.every(isScalar)) {
        // An empty list is kept as one (the partner may say it is untyped); joined it would be ''.
        if (options.arrays === 'keep') output[key] = value
        else if (options.arrays === 'join' && value.length > 0) output[key] = value.join(', ')
      }
    }
  }
  visit(input, '')
  // Only `keep` can produce lists, which the return type says.
  return output as Record<string, Arrays extends 'keep' ? ScalarOrList : ScalarValue>
}
