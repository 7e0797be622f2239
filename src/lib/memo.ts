/**
 * Caches for the per-event hot path: trait and property keys repeat across
 * events, and settings objects live as long as the cached config, so deriving
 * the same string or header again is wasted CPU. They live per isolate
 * (lib/isolate-cache.ts lists them).
 */

import { IsolateCache } from './isolate-cache'

/** Keys longer than this are converted every time: real trait names are short, and the cache stays small. */
const MAX_CACHED_KEY_LENGTH = 128
const MAX_CACHED_KEYS = 2048

/** A function of a string with a bounded cache (cleared when full, so hostile keys cannot grow it). */
export function memoizeString<R extends string | number>(
  convert: (input: string) => R,
): (input: string) => R {
  const cache = new IsolateCache<string, R>(MAX_CACHED_KEYS)
  return (input) => {
    if (input.length > MAX_CACHED_KEY_LENGTH) return convert(input)
    let output = cache.get(input)
    if (output === undefined) {
      output = convert(input)
      cache.set(input, output)
    }
    return output
  }
}

/** A value derived from an object (e.g. auth headers from settings), computed once per object. */
export function memoizeByObject<T extends object, R>(derive: (input: T) => R): (input: T) => R {
  const cache = new WeakMap<T, R>()
  return (input) => {
    let output = cache.get(input)
    if (output === undefined) {
      output = derive(input)
      cache.set(input, output)
    }
    return output
  }
}
