import { expect, it } from 'vitest'
import { IsolateCache } from '../../src/lib/isolate-cache'

it('clears when a new key would pass maxEntries, so unbounded keys cannot grow it', () => {
  const cache = new IsolateCache<string, number>(2)
  cache.set('a', 1).set('b', 2)
  cache.set('b', 3)
  expect([...cache]).toEqual([
    ['a', 1],
    ['b', 3],
  ])
  cache.set('c', 4)
  expect([...cache]).toEqual([['c', 4]])
})

it('keeps every entry without a bound', () => {
  const cache = new IsolateCache<number, number>()
  for (let i = 0; i < 5000; i++) cache.set(i, i)
  expect(cache.size).toBe(5000)
})
