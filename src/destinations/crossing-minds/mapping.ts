/**
 * Pure Segment → Crossing Minds mapping (partners.md §1.4, §1.7): identify → user
 * properties, track → interactions; no fetch, no KV. What the partner already knows
 * (declared properties) comes in as arguments. Ids are encoded for the database in
 * ids.ts, requests built in requests.ts.
 */

import { memoizeString } from '../../lib/memo'
import { isPlainObject } from '../../lib/objects'
import type { EventOf } from '../../segment/schema'
import { ENGAGE_AUDIENCE_EVENTS, ecommerceEventsOf } from '../../segment/spec-events'
import { sanitizeKey } from '../shared/keys'
import { flattenValues, isoToUnixSeconds, type ScalarOrList, type ScalarValue } from '../shared/values'
import type { DeliveryOutcome } from '../types'
import type { CrossingMindsSettings } from './settings'

export type Dropped = Extract<DeliveryOutcome, { status: 'dropped' }>

export function isDropped(value: object): value is Dropped {
  return 'status' in value && value.status === 'dropped'
}

/**
 * The Segment destination records interactions only for these Ecommerce v2 groups;
 * "any events that are not listed will be rejected" (segment-docs crossing-minds page).
 */
export const INTERACTION_EVENTS = ecommerceEventsOf([
  'browsing',
  'coreOrdering',
  'wishlisting',
  'sharing',
  'reviewing',
])

// ---------------------------------------------------------------- user properties

/** A user-property declaration, as `POST /v1/users-properties/` takes it. */
export interface PropertySpec {
  name: string
  valueType: string
  repeated: boolean
}

export interface UserPropertyValue {
  spec: PropertySpec
  value: ScalarOrList
}

/** An identify as a partial update of one user's properties. */
export interface UserPropertiesUpdate {
  userId: string
  /** One entry per property, with the declaration it needs if the database lacks it. */
  properties: UserPropertyValue[]
  /** Trait names left out: reserved names, case duplicates, values whose type cannot be told. */
  skipped: string[]
}

/** Property names: at most 64 of [A-Za-z0-9._-], case-insensitive; `user_id`/`item_id` are reserved (.NET docs). */
const MAX_PROPERTY_NAME = 64
const RESERVED_PROPERTY_NAMES = new Set(['user_id', 'item_id'])

/** Declared names compare case-insensitively (the partner treats them so). */
export function propertyKey(name: string): string {
  return name.toLowerCase()
}

/**
 * Infers a declaration from a value. Strings are bare `unicode` (the PHP example's
 * type); every number is `float64` so an integer-looking first value cannot make a
 * later decimal invalid (partners.md §1.4 "assume" line); arrays become `repeated`.
 * Empty arrays have no type to infer and are left out.
 */
function scalarType(item: unknown): string {
  return typeof item === 'string' ? 'unicode' : typeof item === 'number' ? 'float64' : 'bool'
}

export function inferPropertySpec(name: string, value: ScalarOrList): UserPropertyValue | undefined {
  if (!Array.isArray(value)) return { spec: { name, valueType: scalarType(value), repeated: false }, value }
  const first = value[0]
  if (first === undefined) return undefined
  const valueType = scalarType(first)
  // A mixed list cannot be one typed property: keep it as text.
  if (value.some((item) => scalarType(item) !== valueType))
    return { spec: { name, valueType: 'unicode', repeated: true }, value: value.map((item) => String(item)) }
  return { spec: { name, valueType, repeated: true }, value }
}

/**
 * identify → a partial update of the user's properties. Traits are flattened
 * (`address.city`), names sanitised (segments keep [A-Za-z0-9_], `.` joins levels,
 * 64 characters at most); reserved and case-duplicate names are skipped.
 */
export function mapIdentifyToUserUpdate(event: EventOf<'identify'>): UserPropertiesUpdate | Dropped {
  if (typeof event.userId !== 'string')
    return {
      status: 'dropped',
      reason: 'missing_user_id',
      detail: 'Crossing Minds users need a userId',
    }
  const flat = flattenValues(event.traits ?? {}, { key: sanitizeKey, separator: '.', arrays: 'keep' })
  const properties: UserPropertyValue[] = []
  const skipped: string[] = []
  const seen = new Set<string>()
  for (const path in flat) {
    const value = flat[path] as ScalarOrList
    const name = path.slice(0, MAX_PROPERTY_NAME)
    const key = propertyKey(name)
    if (RESERVED_PROPERTY_NAMES.has(key) || seen.has(key)) {
      skipped.push(path)
      continue
    }
    const inferred = inferPropertySpec(name, value)
    if (!inferred) {
      skipped.push(path)
      continue
    }
    seen.add(key)
    properties.push(inferred)
  }
  return { userId: event.userId, properties, skipped }
}

/** Declarations the updates need that the database does not have yet (first type seen wins). */
export function propertiesToDeclare(
  updates: readonly UserPropertiesUpdate[],
  declared: ReadonlyMap<string, PropertySpec>,
): PropertySpec[] {
  const missing = new Map<string, PropertySpec>()
  for (const update of updates)
    for (const { spec } of update.properties) {
      const key = propertyKey(spec.name)
      if (!declared.has(key) && !missing.has(key)) missing.set(key, spec)
    }
  return [...missing.values()]
}

/** How a declared value type takes JSON values; the database's type names are few, so this is memoised. */
export const valueKindOf = memoizeString((valueType): 'text' | 'integer' | 'float' | 'bool' | 'other' => {
  if (/^(unicode\d*|text|image_url)$/.test(valueType)) return 'text'
  if (/^u?int\d+$/.test(valueType)) return 'integer'
  if (/^float\d+$/.test(valueType)) return 'float'
  return valueType === 'bool' ? 'bool' : 'other'
})

function conformScalar(
  value: string | number | boolean,
  valueType: string,
): string | number | boolean | undefined {
  switch (valueKindOf(valueType)) {
    case 'text':
      return String(value)
    case 'integer': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
      return typeof number === 'number' && Number.isSafeInteger(number) ? number : undefined
    }
    case 'float': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
      return typeof number === 'number' && Number.isFinite(number) ? number : undefined
    }
    case 'bool':
      if (typeof value === 'boolean') return value
      if (value === 'true' || value === 'false') return value === 'true'
      return undefined
    default:
      // bytes and other types have no faithful conversion from JSON traits.
      return undefined
  }
}

/**
 * Converts a value to the type the property was declared with (it may have been
 * declared earlier with another type, e.g. by a previous trait value). Returns
 * undefined when the value cannot be represented: the property is then left out.
 */
export function conformToDeclared(value: ScalarOrList, declared: PropertySpec): ScalarOrList | undefined {
  if (Array.isArray(value)) {
    if (!declared.repeated) return undefined
    // One pass, stopping at the first item that does not fit: the whole list is then left out.
    const items: ScalarValue[] = []
    for (const item of value) {
      const conformed = conformScalar(item, declared.valueType)
      if (conformed === undefined) return undefined
      items.push(conformed)
    }
    return items
  }
  const scalar = conformScalar(value, declared.valueType)
  if (scalar === undefined) return undefined
  return declared.repeated ? [scalar] : scalar
}

/** The PATCH body for one update, values conformed to the declared types. */
export function buildUserPatch(
  update: UserPropertiesUpdate,
  declared: ReadonlyMap<string, PropertySpec>,
): { user: Record<string, ScalarOrList>; skipped: string[] } {
  const user: Record<string, ScalarOrList> = {}
  const skipped = [...update.skipped]
  for (const { spec, value } of update.properties) {
    const declaration = declared.get(propertyKey(spec.name))
    const conformed = declaration && conformToDeclared(value, declaration)
    if (declaration && conformed !== undefined) user[declaration.name] = conformed
    else skipped.push(spec.name)
  }
  return { user, skipped }
}

// ---------------------------------------------------------------- interactions

export interface Interaction {
  itemId: string
  interactionType: string
  /** Unix seconds. */
  timestamp: number
}

/** Who the interactions belong to: a known user, or an anonymous session (`anonymousId`). */
export interface InteractionSubject {
  kind: 'user' | 'session'
  id: string
}

export interface InteractionPlan {
  subject: InteractionSubject
  interactions: Interaction[]
}

function productIdOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

/**
 * The items an ecommerce event is about: `product_id`, else one per
 * `products[].product_id` (partners.md §1.7 "assume" line), duplicates removed.
 */
export function productIdsOf(properties: Record<string, unknown> | undefined): string[] {
  const single = productIdOf(properties?.product_id)
  if (single) return [single]
  const products = Array.isArray(properties?.products) ? properties.products : []
  const ids = new Set<string>()
  for (const product of products) {
    const id = isPlainObject(product) ? productIdOf(product.product_id) : undefined
    if (id !== undefined) ids.add(id)
  }
  return [...ids]
}

/** Event timestamp in Unix seconds (the partner's `timestamp` is seconds, float allowed). */
export function eventUnixSeconds(iso: string): number {
  return isoToUnixSeconds(iso) ?? Math.floor(Date.parse(iso) / 1000)
}

/**
 * track → interactions. Only the listed Ecommerce v2 events count (Engage's
 * `Audience Entered`/`Exited` are not ecommerce events: `unsupported_event`);
 * `interaction_type` is the event name unless the `interactionTypes` setting maps it.
 */
export function mapTrackToInteractions(
  event: EventOf<'track'>,
  settings: Pick<CrossingMindsSettings, 'interactionTypes'>,
): InteractionPlan | Dropped {
  if ((ENGAGE_AUDIENCE_EVENTS as readonly string[]).includes(event.event))
    return {
      status: 'dropped',
      reason: 'unsupported_event',
      detail: `"${event.event}" is an Engage audience event, not an ecommerce interaction`,
    }
  if (!INTERACTION_EVENTS.has(event.event))
    return {
      status: 'dropped',
      reason: 'unsupported_event',
      detail: `"${event.event}" is not an Ecommerce v2 browsing, ordering, wishlist, sharing or review event`,
    }
  const itemIds = productIdsOf(event.properties)
  if (itemIds.length === 0)
    return {
      status: 'dropped',
      reason: 'missing_item_id',
      detail: 'no properties.product_id or products[].product_id',
    }
  const interactionType = settings.interactionTypes?.[event.event] ?? event.event
  const timestamp = eventUnixSeconds(event.timestamp)
  // The schema guarantees userId or anonymousId.
  const subject: InteractionSubject =
    typeof event.userId === 'string'
      ? { kind: 'user', id: event.userId }
      : { kind: 'session', id: String(event.anonymousId) }
  return { subject, interactions: itemIds.map((itemId) => ({ itemId, interactionType, timestamp })) }
}
