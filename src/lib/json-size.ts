import { jsonBytes } from './utf8'

/**
 * Size and depth of parsed JSON values without building their text: the ingest
 * limits (per event) and the admin config document (depth) both bound input with it.
 */

/** Printable ASCII without `"` and `\\`: a JSON string of these is its length plus the quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** UTF-8 size of a string once JSON-encoded (quotes and escapes included). */
function jsonStringBytes(value: string): number {
  return PLAIN.test(value) ? value.length + 2 : jsonBytes(JSON.stringify(value))
}

/** True when a parsed JSON value nests more than `max` objects or arrays deep. Never recurses past `max`. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  return measureJson(value, max) === TOO_DEEP
}

/** `measureJson`'s answer for a value nested deeper than allowed. */
export const TOO_DEEP = -1

/**
 * The exact UTF-8 size of `JSON.stringify(value)` for a parsed JSON value, or
 * TOO_DEEP when it nests more than `maxDepth` objects or arrays. One walk does
 * both limit checks without building the JSON text, and never recurses past
 * `maxDepth`. Values JSON cannot hold (undefined, functions) are skipped in
 * objects and count as `null` in arrays, as JSON.stringify does.
 * Kept for speed: the plain checks (JSON.stringify, its UTF-8 length and a depth walk) cost 2–5 µs more per event, 5–13 % of ingest CPU (bench/micro.ts, several runs).
 */
export function measureJson(value: unknown, maxDepth: number): number {
  return measure(value, 1, maxDepth)
}

function measure(value: unknown, depth: number, max: number): number {
  switch (typeof value) {
    case 'string':
      return jsonStringBytes(value)
    case 'number':
      // JSON writes finite numbers as String does, and the others as null.
      return Number.isFinite(value) ? String(value).length : 4
    case 'boolean':
      return value ? 4 : 5
    case 'object':
      break
    default:
      return 4
  }
  if (value === null) return 4
  if (depth > max) return TOO_DEEP
  if (Array.isArray(value)) {
    let total = value.length === 0 ? 2 : value.length + 1 // brackets and commas
    for (const item of value) {
      const size = measure(item, depth + 1, max)
      if (size === TOO_DEEP) return TOO_DEEP
      total += size
    }
    return total
  }
  let total = 1 // `{`; each member adds its comma or the closing `}`
  let members = 0
  const record = value as Record<string, unknown>
  for (const key in record) {
    const item = record[key]
    if (item === undefined || typeof item === 'function') continue
    const size = measure(item, depth + 1, max)
    if (size === TOO_DEEP) return TOO_DEEP
    total += jsonStringBytes(key) + 1 + size + 1 // "key":value and , or }
    members += 1
  }
  return members === 0 ? 2 : total
}
