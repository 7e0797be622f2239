import * as v from 'valibot'

/** A whole number from `min` to `max` in a JSON document, each refusal naming the field. */
export function wholeNumber(name: string, min: number, max: number) {
  return v.pipe(
    v.number(`${name} must be a number`),
    v.integer(`${name} must be a whole number`),
    v.minValue(min, `${name} must be at least ${min}`),
    v.maxValue(max, `${name} must be at most ${max}`),
  )
}
