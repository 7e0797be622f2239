import { createHash } from 'node:crypto'
import { FIELD_ROOTS, type FieldControls, type FieldNode } from '../../config/rules/fields'
import { isPlainObject } from '../../lib/objects'
import type { SegmentEvent } from '../../segment/schema'

/** Marks a value the controls remove. */
const REMOVED = Symbol('removed')
type Walked = unknown | typeof REMOVED

/**
 * What `hash` sends instead of a value: the lowercase hex SHA-256 of its UTF-8
 * string form, which is the string itself for a string (`"jo@example.com"` hashes
 * `jo@example.com`, no quotes, no trimming or lower-casing) and `JSON.stringify`
 * of anything else (`42` → `"42"`, `true` → `"true"`, an object as received). A
 * null stays null: there is nothing to hide.
 */
export function hashFieldValue(value: unknown): unknown {
  if (value === null || value === undefined) return value
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  // node:crypto's hash is synchronous (nodejs_compat), so routing stays synchronous.
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

function walk(value: unknown, node: FieldNode, keepAll: boolean): Walked {
  if (node.action === 'deny') return REMOVED
  if (node.action === 'hash') return hashFieldValue(value)
  const keep = keepAll || node.action === 'allow'
  if (Array.isArray(value)) return node.each ? walkArray(value, node.each, keep) : keep ? value : REMOVED
  if (isPlainObject(value)) return walkObject(value, node, keep)
  return keep ? value : REMOVED
}

function walkArray(array: unknown[], each: FieldNode, keepAll: boolean): unknown[] {
  let changed = false
  const output: unknown[] = []
  for (const element of array) {
    const walked = walk(element, each, keepAll)
    if (walked !== element) changed = true
    if (walked !== REMOVED) output.push(walked)
  }
  return changed ? output : array
}

/**
 * A copy holding the walked values, or the object itself when nothing changed.
 * Built with Object.fromEntries, which defines own properties: a `__proto__` key
 * stays a plain key and never sets the copy's prototype.
 */
function walkObject(
  object: Record<string, unknown>,
  node: FieldNode,
  keepAll: boolean,
): Record<string, unknown> {
  let changed = false
  const entries: [string, unknown][] = []
  for (const key of Object.keys(object)) {
    const value = object[key]
    const child = node.keys.get(key) ?? node.anyKey
    const walked = child ? walk(value, child, keepAll) : keepAll ? value : REMOVED
    if (walked !== value) changed = true
    if (walked !== REMOVED) entries.push([key, walked])
  }
  return changed ? Object.fromEntries(entries) : object
}

/**
 * The event as one destination may see it: the original is never changed (other
 * destinations see it whole); untouched parts are shared with it, changed ones are
 * copies. In allow mode traits, properties and context keep only the listed (and
 * hashed) paths; the call's other fields (type, ids, event name, timestamps) stay.
 */
export function applyFieldControls(event: SegmentEvent, controls: FieldControls): SegmentEvent {
  let changed = false
  const replaced = new Map<string, Walked>()
  for (const root of FIELD_ROOTS) {
    if (!Object.hasOwn(event, root)) continue
    const value = (event as Record<string, unknown>)[root]
    const node = controls.roots.get(root)
    const walked = node
      ? walk(value, node, controls.mode === 'deny')
      : controls.mode === 'deny'
        ? value
        : REMOVED
    if (walked !== value) {
      changed = true
      replaced.set(root, walked)
    }
  }
  if (!changed) return event
  const entries: [string, unknown][] = []
  for (const [key, value] of Object.entries(event)) {
    const walked = replaced.has(key) ? replaced.get(key) : value
    if (walked !== REMOVED) entries.push([key, walked])
  }
  return Object.fromEntries(entries) as SegmentEvent
}
