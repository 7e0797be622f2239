import fc from 'fast-check'
import { expect, it } from 'vitest'
import { EARLIEST_ISO_MS, isoFromMilliseconds, LATEST_ISO_MS } from '../../src/lib/iso-time'

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
