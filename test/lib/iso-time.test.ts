import fc from 'fast-check'
import { expect, it } from 'vitest'
import {
  canonicalIsoMilliseconds,
  EARLIEST_ISO_MS,
  isoFromMilliseconds,
  LATEST_ISO_MS,
} from '../../src/lib/iso-time'

it('writes any instant of the years 0000–9999 exactly as toISOString does', () => {
  fc.assert(
    fc.property(fc.integer({ min: EARLIEST_ISO_MS, max: LATEST_ISO_MS }), (ms) => {
      expect(isoFromMilliseconds(ms)).toBe(new Date(ms).toISOString())
    }),
    { numRuns: 5000 },
  )
})

it.each([
  ['the first instant', EARLIEST_ISO_MS],
  ['the last instant', LATEST_ISO_MS],
  ['the epoch', 0],
  ['just before the epoch', -1],
  ['a leap day', Date.UTC(2000, 1, 29, 23, 59, 59, 999)],
  ['the day after a century non-leap February', Date.UTC(1900, 2, 1)],
  ['the last millisecond of a leap year', Date.UTC(2024, 11, 31, 23, 59, 59, 999)],
])('writes %s as toISOString does', (_name, ms) => {
  expect(isoFromMilliseconds(ms)).toBe(new Date(ms).toISOString())
})

const pad = (value: number, width: number) => String(value).padStart(width, '0')

it('reads back any instant toISOString writes, with or without the fraction', () => {
  fc.assert(
    fc.property(fc.integer({ min: EARLIEST_ISO_MS, max: LATEST_ISO_MS }), (ms) => {
      const iso = new Date(ms).toISOString()
      expect(canonicalIsoMilliseconds(iso)).toBe(ms)
      const seconds = `${iso.slice(0, 19)}Z`
      expect(canonicalIsoMilliseconds(seconds)).toBe(Date.parse(seconds))
    }),
    { numRuns: 5000 },
  )
})

it('agrees with Date.parse on out-of-range fields, or leaves them to it', () => {
  // Month 13, day 32, 24:00, second 60 and days past a month's end (Feb 30th rolls over in Date.parse).
  const field = (max: number, width: number) => fc.integer({ min: 0, max }).map((n) => pad(n, width))
  const text = fc
    .tuple(
      field(9999, 4),
      field(13, 2),
      field(32, 2),
      field(24, 2),
      field(60, 2),
      field(60, 2),
      field(999, 3),
    )
    .map(
      ([year, month, day, hour, minute, second, ms]) =>
        `${year}-${month}-${day}T${hour}:${minute}:${second}.${ms}Z`,
    )
  fc.assert(
    fc.property(text, (iso) => {
      const read = canonicalIsoMilliseconds(iso)
      if (read !== undefined) expect(read).toBe(Date.parse(iso))
    }),
    { numRuns: 5000 },
  )
})

it.each([
  ['an offset', '2024-05-01T10:00:00+02:00'],
  ['a date alone', '2024-05-01'],
  ['a long fraction', '2024-05-01T10:00:00.1234Z'],
  ['a space for the T', '2024-05-01 10:00:00.000Z'],
  ['letters for digits', '2024-0a-01T10:00:00.000Z'],
])('leaves %s to Date.parse', (_name, text) => {
  expect(canonicalIsoMilliseconds(text)).toBeUndefined()
})
