/**
 * `Date#toISOString` for the years 0000–9999, written out by hand: V8's costs
 * about a microsecond a call, and ingest writes one timestamp per event.
 */

/** The instants `toISOString` writes with a four-digit year: 0000-01-01 to 9999-12-31. */
export const EARLIEST_ISO_MS = -62_167_219_200_000
export const LATEST_ISO_MS = 253_402_300_799_999

const MS_PER_DAY = 86_400_000
/** Days from 0000-03-01 to 1970-01-01: the algorithm counts from a March 1st, so leap days end a year. */
const EPOCH_SHIFT_DAYS = 719_468
const DAYS_PER_ERA = 146_097

const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'))
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'))

/**
 * The ISO-8601 UTC string of an instant, exactly as `new Date(ms).toISOString()`
 * writes it. `ms` must be an integer within EARLIEST_ISO_MS…LATEST_ISO_MS.
 * Civil date from a day count: Howard Hinnant's `civil_from_days`.
 */
export function isoFromMilliseconds(ms: number): string {
  const days = Math.floor(ms / MS_PER_DAY)
  let time = ms - days * MS_PER_DAY
  const shifted = days + EPOCH_SHIFT_DAYS
  const era = Math.floor(shifted / DAYS_PER_ERA)
  const dayOfEra = shifted - era * DAYS_PER_ERA
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  )
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

  const millis = time % 1000
  time = (time - millis) / 1000
  const seconds = time % 60
  time = (time - seconds) / 60
  const minutes = time % 60
  const hours = (time - minutes) / 60
  return `${TWO_DIGITS[Math.floor(year / 100)]}${TWO_DIGITS[year % 100]}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[millis]}Z`
}
