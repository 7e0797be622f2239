/**
 * Pure Segment → CrowdPower Beacon API mapping (partners.md §3.3, §3.4): no fetch, no KV.
 * Attribute and property keys are snake_case; dates go as Unix seconds (UTC) on keys ending in `_at`.
 */

import type { DropReason } from '../../ledger/state'
import { isPlainObject } from '../../lib/objects'
import type { EventOf, SegmentEvent } from '../../segment/schema'
import { toSnakeCase } from '../shared/keys'
import { emailValue, hasKeys, isoToUnixSeconds, textValue } from '../shared/values'
import type { PartnerRequest } from '../types'
import { CROWDPOWER_NAME, type CrowdPowerSettings } from './settings'

/** Who a call is about: CrowdPower matches customers by `user_id`, else by `email` (§3.3). */
export interface CrowdPowerUser {
  user_id?: string
  email?: string
}

export interface CrowdPowerCustomer extends CrowdPowerUser {
  name?: string
  first_name?: string
  last_name?: string
  phone?: string
  signed_up_at?: number
  ip?: string
  custom_attributes?: Record<string, unknown>
}

export interface CrowdPowerEvent {
  action: string
  properties?: Record<string, unknown>
  created_at: number
}

export interface CrowdPowerCharge {
  /** Integer, smallest currency unit. */
  amount: number
  created_at: number
}

export type CrowdPowerCall =
  | { route: 'customers'; user: CrowdPowerUser; customer: CrowdPowerCustomer }
  | { route: 'events'; user: CrowdPowerUser; event: CrowdPowerEvent }
  | { route: 'charges'; user: CrowdPowerUser; charge: CrowdPowerCharge }
  | { route: 'drop'; reason: DropReason; detail: string }

/** The action every Segment page call becomes (the page's name goes in `properties.name`). */
export const PAGE_VIEWED_ACTION = 'Page Viewed'

/** Traits with their own customer field; every other trait is a custom attribute. */
const CUSTOMER_FIELD_TRAITS = new Set([
  'email',
  'name',
  'firstName',
  'first_name',
  'lastName',
  'last_name',
  'phone',
  'createdAt',
  'created_at',
])

/** A Unix-seconds value from an ISO date, a number (already seconds) or a numeric string; else undefined. */
function unixSeconds(value: unknown): number | undefined {
  const iso = isoToUnixSeconds(value)
  if (iso !== undefined) return iso
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value)
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim())
  return undefined
}

/**
 * Traits / properties → CrowdPower attributes: keys snake_cased at every depth; a key
 * ending in `At`/`_at`/`Date`/`_date` (after snake-casing: `_at` or `_date`) is a date:
 * an ISO-8601 value becomes Unix seconds under `<name>_at` (`createdAt` → `created_at`,
 * `trial_start_date` → `trial_start_at`). Only ISO strings are dates: an ISO value
 * under any other key stays a string. An `_at` key whose value is no date at all is
 * left out, since CrowdPower wants an integer there. Nulls are left out.
 */
export function toCrowdPowerAttributes(
  input: Record<string, unknown>,
  /** Top-level keys left out (traits that have their own customer field). */
  skip?: ReadonlySet<string>,
): Record<string, unknown> {
  const output: Record<string, unknown> = {}
  for (const rawKey in input) {
    if (!skip?.has(rawKey)) addAttribute(output, rawKey, input[rawKey])
  }
  return output
}

/**
 * One trait or property, converted into `output` (see `toCrowdPowerAttributes`). A later
 * key that snake-cases to the same name overwrites the value, in the first one's place.
 * Assigning is safe: a snake_cased key never starts with `_`, so it is never `__proto__`.
 */
function addAttribute(output: Record<string, unknown>, rawKey: string, value: unknown): void {
  const key = toSnakeCase(rawKey)
  if (key === '' || value === null || value === undefined) return
  if (key.endsWith('_at') || key === 'at') {
    const seconds = unixSeconds(value)
    if (seconds !== undefined) output[key] = seconds
    return
  }
  const dateSeconds = key.endsWith('_date') ? isoToUnixSeconds(value) : undefined
  if (dateSeconds !== undefined) output[`${key.slice(0, -'_date'.length)}_at`] = dateSeconds
  else output[key] = convertNested(value)
}

function convertNested(value: unknown): unknown {
  if (Array.isArray(value)) {
    // One pass, no intermediate arrays: nulls are left out, as everywhere else.
    const converted: unknown[] = []
    for (const entry of value) if (entry !== null) converted.push(convertNested(entry))
    return converted
  }
  if (isPlainObject(value)) return toCrowdPowerAttributes(value)
  return value
}

function contextEmail(event: SegmentEvent): string | undefined {
  const traits = event.context?.traits
  return isPlainObject(traits) ? emailValue(traits.email) : undefined
}

/**
 * `user_id` from the Segment userId; without one, CrowdPower needs an email (§3.3):
 * `traits.email` on identify, `context.traits.email` otherwise (where Engage puts it).
 */
export function crowdPowerUser(event: SegmentEvent): CrowdPowerUser | undefined {
  if (typeof event.userId === 'string') return { user_id: event.userId }
  const email =
    (event.type === 'identify' ? emailValue(event.traits?.email) : undefined) ?? contextEmail(event)
  return email ? { email } : undefined
}

function missingUser(): CrowdPowerCall {
  return { route: 'drop', reason: 'missing_user_id', detail: 'CrowdPower needs a userId or an email' }
}

/** identify → customer: the named fields CrowdPower has, every other trait in `custom_attributes`. */
export function mapIdentifyToCustomer(event: EventOf<'identify'>, user: CrowdPowerUser): CrowdPowerCustomer {
  const traits = event.traits ?? {}
  const email = user.email ?? emailValue(traits.email)
  const name = textValue(traits.name)
  const firstName = textValue(traits.firstName ?? traits.first_name)
  const lastName = textValue(traits.lastName ?? traits.last_name)
  const phone = textValue(traits.phone)
  const signedUpAt = unixSeconds(traits.createdAt ?? traits.created_at)
  const ip = textValue(event.context?.ip)
  const custom = toCrowdPowerAttributes(traits, CUSTOMER_FIELD_TRAITS)
  // Assigned field by field: conditional spreads cost an object each, on every identify.
  const customer: CrowdPowerCustomer = userFields(user)
  if (email !== undefined) customer.email = email
  if (name !== undefined) customer.name = name
  if (firstName !== undefined) customer.first_name = firstName
  if (lastName !== undefined) customer.last_name = lastName
  if (phone !== undefined) customer.phone = phone
  if (signedUpAt !== undefined) customer.signed_up_at = signedUpAt
  if (ip !== undefined) customer.ip = ip
  if (hasKeys(custom)) customer.custom_attributes = custom
  return customer
}

function createdAt(event: SegmentEvent): number {
  return isoToUnixSeconds(event.timestamp) ?? Math.floor(Date.parse(event.timestamp) / 1000)
}

/** Segment revenue → an integer amount in the smallest currency unit, per the `revenueUnit` setting. */
export function revenueToAmount(
  revenue: unknown,
  unit: CrowdPowerSettings['revenueUnit'],
): number | undefined {
  const value = typeof revenue === 'string' && revenue.trim() !== '' ? Number(revenue) : revenue
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined
  return Math.round(unit === 'major' ? value * 100 : value)
}

/**
 * track → event; a track with a `revenue` property is a charge instead: the charge
 * only, its name and other properties ignored (CrowdPower's Segment docs, §3.4).
 */
export function mapTrack(
  event: EventOf<'track'>,
  user: CrowdPowerUser,
  settings: CrowdPowerSettings,
): CrowdPowerCall {
  const revenue = event.properties?.revenue
  if (revenue !== undefined && revenue !== null) {
    const amount = revenueToAmount(revenue, settings.revenueUnit)
    if (amount === undefined) {
      return { route: 'drop', reason: 'invalid_revenue', detail: 'revenue must be a number ≥ 0' }
    }
    return { route: 'charges', user, charge: { amount, created_at: createdAt(event) } }
  }
  const properties = toCrowdPowerAttributes(event.properties ?? {})
  return { route: 'events', user, event: crowdPowerEvent(event.event, properties, event) }
}

/** Spec page properties that `context.page` also carries. */
const PAGE_RESERVED_PROPERTIES = ['url', 'path', 'title', 'referrer', 'search'] as const
const PAGE_RESERVED_KEYS: ReadonlySet<string> = new Set(PAGE_RESERVED_PROPERTIES)

/** The page's own property when it has one (even null: it then removes the fallback), else the fallback. */
function ownOr(properties: Record<string, unknown>, key: string, fallback: unknown): unknown {
  return Object.hasOwn(properties, key) ? properties[key] : fallback
}

/**
 * page → event. CrowdPower's Beacon page-view endpoint is UNCONFIRMED (partners.md §3.3):
 * assume a customer event. One action, `Page Viewed`, for every page (not
 * `Viewed <name> Page`), so pages stay one event type in CrowdPower's feed and
 * segments; the page's name and category are properties. Reserved page properties
 * missing from `properties` are taken from `context.page`.
 */
export function mapPageToEvent(event: EventOf<'page'>): CrowdPowerEvent {
  const properties = event.properties ?? {}
  const contextPage = isPlainObject(event.context?.page) ? event.context.page : {}
  // The attributes of `{ name, category, ...reserved, ...properties }`, converted key by key in
  // that object's order without building it: one copy of the properties fewer per page.
  const attributes: Record<string, unknown> = {}
  if (event.name) addAttribute(attributes, 'name', ownOr(properties, 'name', event.name))
  if (event.category) addAttribute(attributes, 'category', ownOr(properties, 'category', event.category))
  for (const key of PAGE_RESERVED_PROPERTIES) {
    addAttribute(attributes, key, ownOr(properties, key, contextPage[key]))
  }
  for (const key in properties) {
    const placedAbove =
      PAGE_RESERVED_KEYS.has(key) ||
      (key === 'name' && Boolean(event.name)) ||
      (key === 'category' && Boolean(event.category))
    if (!placedAbove) addAttribute(attributes, key, properties[key])
  }
  return crowdPowerEvent(PAGE_VIEWED_ACTION, attributes, event)
}

/** An event body: the converted properties (left out when empty), the event's time in Unix seconds. */
function crowdPowerEvent(
  action: string,
  attributes: Record<string, unknown>,
  event: SegmentEvent,
): CrowdPowerEvent {
  return hasKeys(attributes)
    ? { action, properties: attributes, created_at: createdAt(event) }
    : { action, created_at: createdAt(event) }
}

/** One Segment event → the CrowdPower call it becomes, or a drop. */
export function mapEventToCrowdPower(event: SegmentEvent, settings: CrowdPowerSettings): CrowdPowerCall {
  const user = crowdPowerUser(event)
  if (!user) return missingUser()
  switch (event.type) {
    case 'identify':
      return { route: 'customers', user, customer: mapIdentifyToCustomer(event, user) }
    case 'track':
      return mapTrack(event, user, settings)
    case 'page':
      return { route: 'events', user, event: mapPageToEvent(event) }
    default:
      return {
        route: 'drop',
        reason: 'unsupported_call',
        detail: `${CROWDPOWER_NAME} does not take ${event.type} calls`,
      }
  }
}

export function customerRequest(customer: CrowdPowerCustomer): PartnerRequest {
  return { method: 'POST', path: '/customers', body: customer }
}

export function customersBulkRequest(customers: CrowdPowerCustomer[]): PartnerRequest {
  return { method: 'POST', path: '/customers/bulk', body: { customers } }
}

/**
 * A new object holding the user's fields, to which a body's other fields are then added:
 * what `{ ...user, ...fields }` gives, without the spreads' generic copies on every event.
 */
function userFields(user: CrowdPowerUser): CrowdPowerUser {
  const fields: CrowdPowerUser = {}
  if (user.user_id !== undefined) fields.user_id = user.user_id
  if (user.email !== undefined) fields.email = user.email
  return fields
}

export function eventRequest(user: CrowdPowerUser, event: CrowdPowerEvent): PartnerRequest {
  const body: CrowdPowerUser & Partial<CrowdPowerEvent> = userFields(user)
  body.action = event.action
  if (event.properties !== undefined) body.properties = event.properties
  body.created_at = event.created_at
  return { method: 'POST', path: '/events', body }
}

/** `/events/bulk` is per user: the user once, then the events (§3.3). */
export function eventsBulkRequest(user: CrowdPowerUser, events: CrowdPowerEvent[]): PartnerRequest {
  const body: CrowdPowerUser & { events?: CrowdPowerEvent[] } = userFields(user)
  body.events = events
  return { method: 'POST', path: '/events/bulk', body }
}

export function chargeRequest(user: CrowdPowerUser, charge: CrowdPowerCharge): PartnerRequest {
  const body: CrowdPowerUser & Partial<CrowdPowerCharge> = userFields(user)
  body.amount = charge.amount
  body.created_at = charge.created_at
  return { method: 'POST', path: '/charges', body }
}

export function chargesBulkRequest(user: CrowdPowerUser, charges: CrowdPowerCharge[]): PartnerRequest {
  const body: CrowdPowerUser & { charges?: CrowdPowerCharge[] } = userFields(user)
  body.charges = charges
  return { method: 'POST', path: '/charges/bulk', body }
}
