/**
 * A numeric wrangler var (vars are always strings) or `fallback` when it is
 * unset or not a number: positive, or at least 0 with `allowZero` (a duration
 * where 0 means "off"), and a whole number with `integer` (a count).
 */
export function positiveNumberFromEnv(
  value: string | undefined,
  fallback: number,
  { allowZero = false, integer = false }: { allowZero?: boolean; integer?: boolean } = {},
): number {
  if (value === undefined || value.trim() === '') return fallback
  const number = Number(value)
  if (!Number.isFinite(number) || number < 0 || (number === 0 && !allowZero)) return fallback
  return integer && !Number.isInteger(number) ? fallback : number
}
