/**
 * ISO-8601 timestamps in their canonical form, written and read by hand: V8's
 * `toISOString` costs about a microsecond a call and `Date.parse` a third of
 * one, and every event's timestamp is written once and read by every partner.
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

/** The number written by `count` ASCII digits from `start`, or NaN when one of them is not a digit. */
function digitsAt(text: string, start: number, count: number): number {
  let value = 0
  for (let index = start; index < start + count; index += 1) {
    const digit = text.charCodeAt(index) - 48
    if (digit < 0 || digit > 9) return Number.NaN
    value = value * 10 + digit
  }
  return value
}

/**
 * Days from 1970-01-01 to a Gregorian date: Howard Hinnant's `days_from_civil`. A day
 * past the month's end rolls over into the next month, as `Date.parse` does (`02-30`).
 */
function daysSinceEpoch(year: number, month: number, day: number): number {
  const marchYear = month <= 2 ? year - 1 : year
  const era = Math.floor(marchYear / 400)
  const yearOfEra = marchYear - era * 400
  const dayOfYear = Math.floor((153 * (month <= 2 ? month + 9 : month - 3) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * DAYS_PER_ERA + dayOfEra - EPOCH_SHIFT_DAYS
}

/**
 * `Date.parse` of the form ingest stamps and `toISOString` writes, `YYYY-MM-DDTHH:MM:SS.sssZ`
 * (or without the fraction), read digit by digit; undefined for any other form, which is
 * left to `Date.parse`. Every partner reads every event's timestamp this way.
 */
export function canonicalIsoMilliseconds(text: string): number | undefined {
  const { length } = text
  if (length !== 20 && length !== 24) return undefined
  const separatorsMatch =
    text.charCodeAt(4) === 45 && // -
    text.charCodeAt(7) === 45 && // -
    text.charCodeAt(10) === 84 && // T
    text.charCodeAt(13) === 58 && // :
    text.charCodeAt(16) === 58 && // :
    text.charCodeAt(length - 1) === 90 && // Z
    (length === 20 || text.charCodeAt(19) === 46) // .
  if (!separatorsMatch) return undefined
  const year = digitsAt(text, 0, 4)
  const month = digitsAt(text, 5, 2)
  const day = digitsAt(text, 8, 2)
  const hour = digitsAt(text, 11, 2)
  const minute = digitsAt(text, 14, 2)
  const second = digitsAt(text, 17, 2)
  const millis = length === 24 ? digitsAt(text, 20, 3) : 0
  // NaN fails every comparison. `24:00:00`, which Date.parse takes, is left to it.
  const inRange =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= 31 &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    millis >= 0
  if (!inRange) return undefined
  return daysSinceEpoch(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis
}
