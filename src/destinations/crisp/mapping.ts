/**
 * Pure Segment → Crisp mapping: no fetch, no KV. Paths are the REST API v1 people
 * routes (partners.md §2.3); every `{people_id}` route also takes the person's
 * email (§2.4), which is how we address people (Crisp has no external-id field).
 */
import { memoizeString } from '../../lib/memo'
import { isPlainObject } from '../../lib/objects'
import type { EventOf } from '../../segment/schema'
import { sanitizeKey } from '../shared/keys'
import { emailValue, flattenValues, hasKeys, type ScalarValue, textValue } from '../shared/values'
import type { PartnerRequest } from '../types'

/** The part of Crisp's `PeopleProfileUpdateCard` we fill (Segment's Crisp docs list exactly these traits). */
export interface CrispProfileCard {
  email: string
  person: { nickname?: string; phone?: string; avatar?: string }
}

export type CrispPeopleData = Record<string, ScalarValue>

export interface CrispPeopleEvent {
  text: string
  data?: CrispPeopleData
}

/** Traits that go to the profile card; every other trait goes to people data. */
const PROFILE_TRAITS = new Set([
  'email',
  'name',
  'firstName',
  'first_name',
  'lastName',
  'last_name',
  'phone',
  'avatar',
])

/** Crisp matches people by email; lower-casing keeps one KV entry and one profile per address. */
export function normalizeEmail(value: unknown): string | undefined {
  return emailValue(value)?.toLowerCase()
}

/** `name`, else `firstName lastName` (either casing Segment allows). */
export function nicknameFromTraits(traits: Record<string, unknown>): string | undefined {
  const name = textValue(traits.name)
  if (name) return name
  // textValue never gives '': each part is a word or missing.
  const first = textValue(traits.firstName ?? traits.first_name)
  const last = textValue(traits.lastName ?? traits.last_name)
  if (first === undefined) return last
  return last === undefined ? first : `${first} ${last}`
}

/**
 * Profile card from traits. `forCreate` fills the nickname Crisp requires when adding
 * a profile with the email's local part; updates never send that fallback, so they do
 * not overwrite a name set in Crisp.
 */
export function mapTraitsToProfileCard(
  traits: Record<string, unknown>,
  email: string,
  options: { forCreate: boolean },
): CrispProfileCard {
  const nickname = nicknameFromTraits(traits) ?? (options.forCreate ? email.split('@')[0] : undefined)
  const phone = textValue(traits.phone)
  const avatar = textValue(traits.avatar)
  const person: CrispProfileCard['person'] = {}
  if (nickname !== undefined) person.nickname = nickname
  if (phone !== undefined) person.phone = phone
  if (avatar !== undefined) person.avatar = avatar
  return { email, person }
}

/** True when the card would change something beyond the email it is addressed by. */
export function cardHasPersonFields(card: CrispProfileCard): boolean {
  return hasKeys(card.person)
}

/**
 * Crisp people data / event data accept only string, number and boolean values under
 * `[A-Za-z0-9_]` keys (partners.md §2.3). Nested objects become `_`-joined keys
 * (`address.city` → `address_city`); arrays of scalars are joined with ", "
 * (`tags: ['a','b']` → `"a, b"`); arrays of objects (e.g. `products`) and nulls are left out.
 */
export function flattenForCrisp(
  input: Record<string, unknown> | undefined,
  skip?: ReadonlySet<string>,
): CrispPeopleData {
  if (!input) return {}
  return flattenValues(input, { key: sanitizeKey, separator: '_', arrays: 'join', skip })
}

/**
 * Custom traits → people data. The Segment `userId` is stored as `user_id` so a
 * Crisp operator (or a search filter) can find the person by it.
 */
export function mapTraitsToPeopleData(
  traits: Record<string, unknown>,
  userId: string | undefined,
): CrispPeopleData {
  const custom = flattenForCrisp(traits, PROFILE_TRAITS)
  return userId === undefined ? custom : { user_id: userId, ...custom }
}

/** Track → people event: `text` is the event name, `data` the flattened properties (omitted when empty). */
export function mapTrackToPeopleEvent(event: EventOf<'track'>): CrispPeopleEvent {
  const data = flattenForCrisp(event.properties)
  return hasKeys(data) ? { text: event.event, data } : { text: event.event }
}

/**
 * Who a track is about. With a userId, the email must come from an earlier identify
 * (the caller looks it up); without one, Engage puts the email in `context.traits.email`.
 */
export function trackIdentity(
  event: EventOf<'track'>,
): { kind: 'userId'; userId: string } | { kind: 'email'; email: string } | { kind: 'none' } {
  if (typeof event.userId === 'string') return { kind: 'userId', userId: event.userId }
  const contextTraits = event.context?.traits
  const email = isPlainObject(contextTraits) ? normalizeEmail(contextTraits.email) : undefined
  return email ? { kind: 'email', email } : { kind: 'none' }
}

/** A source's website id is the same on every request: escaped once. */
const escapedWebsiteId = memoizeString((websiteId) => encodeURIComponent(websiteId))

function peoplePath(websiteId: string, rest: string): string {
  return `/v1/website/${escapedWebsiteId(websiteId)}/people/${rest}`
}

export function createProfileRequest(websiteId: string, card: CrispProfileCard): PartnerRequest {
  return { method: 'POST', path: peoplePath(websiteId, 'profile'), body: card }
}

/** PATCH = "Update" (merge the given fields), not PUT "Save" which replaces the card (§2.3). */
export function updateProfileRequest(
  websiteId: string,
  email: string,
  card: CrispProfileCard,
): PartnerRequest {
  return { method: 'PATCH', path: peoplePath(websiteId, `profile/${encodeURIComponent(email)}`), body: card }
}

export function updatePeopleDataRequest(
  websiteId: string,
  email: string,
  data: CrispPeopleData,
): PartnerRequest {
  return { method: 'PATCH', path: peoplePath(websiteId, `data/${encodeURIComponent(email)}`), body: { data } }
}

/** No `color`: the colour list is UNCONFIRMED in the official reference (partners.md §2.3), so we omit it. */
export function addPeopleEventRequest(
  websiteId: string,
  email: string,
  event: CrispPeopleEvent,
): PartnerRequest {
  return { method: 'POST', path: peoplePath(websiteId, `events/${encodeURIComponent(email)}`), body: event }
}
