import * as v from 'valibot'

/** Longest text a query or filter value may have: ids and names, never documents. */
export const MAX_FILTER_TEXT = 200

export const BoundedText = v.pipe(
  v.string('must be a string'),
  v.maxLength(MAX_FILTER_TEXT, `must be at most ${MAX_FILTER_TEXT} characters`),
)

/** A time in a query string: epoch milliseconds or an ISO-8601 date, within JavaScript's date range. */
export const Millis = v.pipe(
  BoundedText,
  v.transform((value) => (/^\d+$/.test(value) ? Number(value) : Date.parse(value))),
  v.number('must be epoch milliseconds or an ISO-8601 date'),
  v.check(
    (value) => Number.isSafeInteger(value) && Math.abs(value) <= 8.64e15,
    'must be epoch milliseconds or an ISO-8601 date',
  ),
)

/** `?limit=`: a whole number of rows from 1 to `max` (digits only: `1e2` is refused), `fallback` when absent. */
export function limitParam(max: number, fallback: number) {
  const message = `limit must be a whole number from 1 to ${max}`
  return v.optional(
    v.pipe(
      BoundedText,
      v.regex(/^\d{1,6}$/, message),
      v.transform(Number),
      v.minValue(1, message),
      v.maxValue(max, message),
    ),
    String(fallback),
  )
}
