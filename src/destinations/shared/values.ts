/** Value conversions partners need for Segment traits and properties. */
import { isPlainObject } from '../../lib/objects'

/** A value every partner's flat key/value store accepts. */
export type ScalarValue = string | number | boolean

export function isScalar(value: unknown): value is ScalarValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  )
}

/** A trait as text: a trimmed non-empty string, or a finite number written out; else undefined. */
export function textValue(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value !== 'string') return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

/** Deliberately loose: partners validate addresses themselves; we only refuse what is clearly not one. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** An email address, trimmed, as given (case kept); undefined when it is clearly not one. */
export function emailValue(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const email = value.trim()
  return EMAIL.test(email) ? email : undefined
}

/** True when the object has a key; cheaper than `Object.keys(value).length > 0` on the per-event path. */
export function hasKeys(value: Record<string, unknown>): boolean {
  for (const _key in value) return true
  return false
}

/** ISO-8601 date (`2024-05-01`) or date-time (`2024-05-01T10:00:00Z`, with optional fraction and offset). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/

/** Milliseconds of an ISO-8601 string; undefined for anything else. The shape is checked before any regex or parse. */
function isoMilliseconds(value: unknown): number | undefined {
  // `YYYY-` starts every ISO date: most values fail here, before the regex.
  if (typeof value !== 'string' || value.length < 10 || value.charCodeAt(4) !== 45) return undefined
  if (!ISO_DATE.test(value)) return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

/** Only ISO-8601 strings count as dates: numbers and free text are left alone. */
export function isIsoDateString(value: unknown): value is string {
  return isoMilliseconds(value) !== undefined
}

/** ISO-8601 → Unix seconds (UTC; a date-time without offset is read as UTC, as Workers run in UTC). */
export function isoToUnixSeconds(value: unknown): number | undefined {
  const ms = isoMilliseconds(value)
  return ms === undefined ? undefined : Math.floor(ms / 1000)
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
  /** Top-level keys left out (e.g. traits a partner takes as named fields). */
  skip?: ReadonlySet<string>
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
  flattenInto(output, input, '', options)
  // Only `keep` can produce lists, which the return type says.
  return output as Record<string, Arrays extends 'keep' ? ScalarOrList : ScalarValue>
}

// A module-level function, not a closure per call: cheaper on the per-event path.
function flattenInto(
  output: Record<string, ScalarOrList>,
  object: Record<string, unknown>,
  prefix: string,
  options: FlattenOptions<'join' | 'drop' | 'keep'>,
): void {
  // for…in: JSON objects have only own enumerable keys, and it avoids an entries array per object.
  for (const rawKey in object) {
    if (prefix === '' && options.skip?.has(rawKey)) continue
    const value = object[rawKey]
    const segment = options.key(rawKey)
    if (segment === '') continue
    const key = prefix === '' ? segment : `${prefix}${options.separator}${segment}`
    if (isScalar(value)) output[key] = value
    else if (isPlainObject(value)) flattenInto(output, value, key, options)
    else if (Array.isArray(value) && value.every(isScalar)) {
      // An empty list is kept as one (the partner may say it is untyped); joined it would be ''.
      if (options.arrays === 'keep') output[key] = value
      else if (options.arrays === 'join' && value.length > 0) output[key] = value.join(', ')
    }
  }
}
