import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { measureJson, nestsDeeperThan, TOO_DEEP } from '../../src/lib/json-size'
import { jsonBytes } from '../../src/lib/utf8'

/** Nests `value` inside `levels` alternating objects and arrays. */
function nested(levels: number, value: unknown = 1): unknown {
  let current = value
  for (let level = 0; level < levels; level += 1) current = level % 2 ? [current] : { k: current }
  return current
}

describe('measureJson', () => {
  it('equals the UTF-8 size of JSON.stringify for any JSON value', () => {
    // Full Unicode strings (escapes, astral and lone surrogates), numbers in every notation, deep mixes.
    const value = fc.jsonValue({ maxDepth: 6, stringUnit: 'binary' })
    fc.assert(
      fc.property(value, (json) => {
        expect(measureJson(json, 100)).toBe(jsonBytes(JSON.stringify(json)))
      }),
      { numRuns: 2000 },
    )
  })

  it('counts what JSON.stringify would skip or write as null', () => {
    const value = { a: undefined, b: [undefined, Number.NaN, -0, 1e21], c: 'é"\\\n' }
    expect(measureJson(value, 100)).toBe(jsonBytes(JSON.stringify(value)))
  })

  it('answers TOO_DEEP past the limit, and measures at the limit', () => {
    expect(measureJson(nested(100), 100)).toBe(JSON.stringify(nested(100)).length)
    expect(measureJson(nested(101), 100)).toBe(TOO_DEEP)
    expect(nestsDeeperThan(nested(101), 100)).toBe(true)
    expect(nestsDeeperThan(nested(100), 100)).toBe(false)
  })

  it('stops at the limit instead of walking a very deep value', () => {
    // Deep enough to overflow the stack if the walk did not stop at the limit.
    expect(measureJson(nested(200_000), 100)).toBe(TOO_DEEP)
  })
})
