import * as v from 'valibot'
import { exactObject } from '../../lib/objects'

/**
 * Field paths of the per-destination field controls, parsed when the config is
 * validated into one tree the delivery walks once per event.
 *
 *   path    := root ( "." segment )*
 *   root    := traits | properties | context
 *   segment := key | "*"          (`*` = any key of an object)
 *              followed by "[]"    (the value is an array: what follows applies to every element)
 *
 * e.g. `traits.email`, `properties.*.card`, `properties.products[].sku`, `context.ip`.
 */

export const FIELD_ROOTS = ['traits', 'properties', 'context'] as const
export type FieldRoot = (typeof FIELD_ROOTS)[number]

/** `deny` removes, `hash` replaces with SHA-256 hex, `allow` keeps (in an allow-list). Strongest first. */
export type FieldAction = 'deny' | 'hash' | 'allow'
const STRENGTH: Record<FieldAction, number> = { deny: 3, hash: 2, allow: 1 }

/** One step of the tree. Children live in Maps, so no key (`__proto__` included) touches a prototype. */
export interface FieldNode {
  action?: FieldAction
  keys: Map<string, FieldNode>
  /** `*`: applies to keys without their own entry (exact keys get it merged in). */
  anyKey?: FieldNode
  /** `[]`: applies to every element of an array found here. */
  each?: FieldNode
}

export interface FieldControls {
  /** `allow`: only listed (and hashed) paths of traits, properties and context are kept. */
  mode: 'allow' | 'deny'
  roots: ReadonlyMap<FieldRoot, FieldNode>
}

const MAX_SEGMENTS = 32
const SEGMENT = /^([^.[\]]+)((?:\[\])*)$/

type Step = { key: string } | { any: true } | { each: true }

/** A path's steps, or a message saying what is wrong with it. */
export function parseFieldPath(
  path: string,
): { ok: true; root: FieldRoot; steps: Step[] } | { ok: false; message: string } {
  const [root, ...segments] = path.split('.')
  if (!FIELD_ROOTS.includes(root as FieldRoot))
    return { ok: false, message: `"${path}" must start with ${FIELD_ROOTS.join(', ')} followed by "."` }
  if (segments.length === 0)
    return { ok: false, message: `"${path}" names a whole ${root} object: list its fields` }
  if (segments.length > MAX_SEGMENTS)
    return { ok: false, message: `"${path}" has more than ${MAX_SEGMENTS} segments` }
  const steps: Step[] = []
  for (const segment of segments) {
    const match = SEGMENT.exec(segment)
    if (!match?.[1])
      return {
        ok: false,
        message: `"${path}": segment "${segment}" must be a key or *, optionally followed by [] (no empty segments)`,
      }
    steps.push(match[1] === '*' ? { any: true } : { key: match[1] })
    for (let brackets = (match[2] ?? '').length / 2; brackets > 0; brackets -= 1) steps.push({ each: true })
  }
  return { ok: true, root: root as FieldRoot, steps }
}

function emptyNode(): FieldNode {
  return { keys: new Map() }
}

function insert(node: FieldNode, steps: Step[], action: FieldAction): void {
  let current = node
  for (const step of steps) {
    if ('key' in step) {
      const child = current.keys.get(step.key) ?? emptyNode()
      current.keys.set(step.key, child)
      current = child
    } else if ('any' in step) current = current.anyKey ??= emptyNode()
    else current = current.each ??= emptyNode()
  }
  if (!current.action || STRENGTH[action] > STRENGTH[current.action]) current.action = action
}

/** A node that does what both do: the stronger action, and both sets of children. */
function merge(a: FieldNode | undefined, b: FieldNode | undefined): FieldNode | undefined {
  if (!a || !b) return a ?? b
  const action = !a.action || (b.action && STRENGTH[b.action] > STRENGTH[a.action]) ? b.action : a.action
  const keys = new Map(a.keys)
  for (const [key, child] of b.keys) keys.set(key, merge(keys.get(key), child) as FieldNode)
  const anyKey = merge(a.anyKey, b.anyKey)
  const each = merge(a.each, b.each)
  return { ...(action && { action }), keys, ...(anyKey && { anyKey }), ...(each && { each }) }
}

/** Gives every exact key what `*` says as well, so the walk needs one lookup per key. */
function finalize(node: FieldNode): FieldNode {
  const keys = new Map<string, FieldNode>()
  for (const [key, child] of node.keys) keys.set(key, finalize(merge(child, node.anyKey) as FieldNode))
  return {
    ...(node.action && { action: node.action }),
    keys,
    ...(node.anyKey && { anyKey: finalize(node.anyKey) }),
    ...(node.each && { each: finalize(node.each) }),
  }
}

const FieldPath = v.pipe(
  v.string('a field path must be a string, e.g. traits.email'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const parsed = parseFieldPath(dataset.value)
    if (parsed.ok) return { text: dataset.value, root: parsed.root, steps: parsed.steps }
    addIssue({ message: parsed.message })
    return NEVER
  }),
)

const PathList = v.pipe(
  v.array(FieldPath, 'must be an array of field paths'),
  v.minLength(1, 'must not be empty'),
)

export const FieldControlsSchema = v.pipe(
  exactObject(
    { allow: v.optional(PathList), deny: v.optional(PathList), hash: v.optional(PathList) },
    'fields must be an object with allow or deny, and/or hash',
  ),
  v.check((fields) => !(fields.allow && fields.deny), 'fields takes allow or deny, not both'),
  v.check(
    (fields) => Boolean(fields.allow || fields.deny || fields.hash),
    'fields needs allow, deny or hash',
  ),
  v.check((fields) => {
    const listed = [...(fields.allow ?? []), ...(fields.deny ?? []), ...(fields.hash ?? [])].map(
      (path) => path.text,
    )
    return new Set(listed).size === listed.length
  }, 'a path is listed twice (a path takes one action)'),
  v.transform((fields): FieldControls => {
    const roots = new Map<FieldRoot, FieldNode>()
    const add = (paths: typeof fields.hash, action: FieldAction) => {
      for (const path of paths ?? []) {
        const root = roots.get(path.root) ?? emptyNode()
        roots.set(path.root, root)
        insert(root, path.steps, action)
      }
    }
    add(fields.allow, 'allow')
    add(fields.deny, 'deny')
    add(fields.hash, 'hash')
    for (const [name, root] of roots) roots.set(name, finalize(root))
    return { mode: fields.allow ? 'allow' : 'deny', roots }
  }),
)
