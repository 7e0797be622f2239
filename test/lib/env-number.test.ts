import { describe, expect, it } from 'vitest'
import { positiveNumberFromEnv } from '../../src/lib/env-number'

describe('positiveNumberFromEnv', () => {
  it('reads a positive number, fractions included', () => {
    expect(positiveNumberFromEnv('1500', 10)).toBe(1500)
    expect(positiveNumberFromEnv('0.5', 10)).toBe(0.5)
  })

  it('falls back when the var is unset, empty, not a number, zero or negative', () => {
    for (const value of [undefined, '', '  ', 'soon', 'Infinity', '0', '-3'])
      expect(positiveNumberFromEnv(value, 10), String(value)).toBe(10)
  })

  it('takes 0 only with allowZero, and only whole numbers with integer', () => {
    expect(positiveNumberFromEnv('0', 5, { allowZero: true })).toBe(0)
    expect(positiveNumberFromEnv('-1', 5, { allowZero: true })).toBe(5)
    expect(positiveNumberFromEnv('3', 9000, { integer: true })).toBe(3)
    expect(positiveNumberFromEnv('2.5', 9000, { integer: true })).toBe(9000)
  })
})
