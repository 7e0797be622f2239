/**
 * Which user properties a Crossing Minds database has declared, as far as the
 * router knows: memory per isolate, KV across isolates, so steady state sends
 * no declaration at all (partners.md §1.4: properties must exist before use).
 */
import { IsolateCache } from '../../lib/isolate-cache'
import type { DeliveryContext } from '../types'
import { type PropertySpec, propertyKey } from './mapping'
import type { CrossingMindsSettings } from './settings'

type Context = DeliveryContext<CrossingMindsSettings>
type Declared = Record<string, PropertySpec>

/** Declarations by database key, then by lower-cased name (lib/isolate-cache.ts). */
const memory = new IsolateCache<string, Map<string, PropertySpec>>()

function stateKey(databaseKey: string): string {
  return `properties:${databaseKey}`
}

/**
 * The known declarations (by lower-cased name). KV is read only when memory lacks
 * one of `needed`, so a warm isolate answers from memory.
 */
export async function knownProperties(
  context: Context,
  databaseKey: string,
  needed: readonly string[],
): Promise<ReadonlyMap<string, PropertySpec>> {
  let known = memory.get(databaseKey)
  if (!known) {
    known = new Map()
    memory.set(databaseKey, known)
  }
  const current = known
  if (needed.some((name) => !current.has(propertyKey(name)))) {
    const stored = await context.state.get<Declared>(stateKey(databaseKey))
    for (const [key, spec] of Object.entries(stored ?? {})) if (!current.has(key)) current.set(key, spec)
  }
  return current
}

/** Records new declarations in memory and merges them into KV (a lost race costs one DUPLICATED answer later). */
export async function rememberProperties(
  context: Context,
  databaseKey: string,
  specs: readonly PropertySpec[],
): Promise<void> {
  if (specs.length === 0) return
  const known = memory.get(databaseKey) ?? new Map<string, PropertySpec>()
  memory.set(databaseKey, known)
  for (const spec of specs) known.set(propertyKey(spec.name), spec)
  const stored = (await context.state.get<Declared>(stateKey(databaseKey))) ?? {}
  for (const spec of specs) stored[propertyKey(spec.name)] = spec
  await context.state.put(stateKey(databaseKey), stored)
}
