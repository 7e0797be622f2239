import type { EventOf } from '../../segment/schema'
import type {
  CallResult,
  DeliveryContext,
  DeliveryItem,
  DeliveryOutcome,
  DestinationDefinition,
  PartnerRequest,
  PartnerResponse,
} from '../types'
import { CRISP_API_ORIGIN, classifyCrispResponse, isCrispReason, sendToCrisp } from './client'
import {
  addPeopleEventRequest,
  type CrispProfileCard,
  cardHasPersonFields,
  createProfileRequest,
  mapTrackToPeopleEvent,
  mapTraitsToPeopleData,
  mapTraitsToProfileCard,
  normalizeEmail,
  trackIdentity,
  updatePeopleDataRequest,
  updateProfileRequest,
} from './mapping'
import { CRISP_NAME, type CrispSettings, CrispSettingsSchema } from './settings'
import { CrispStateCache, fingerprint } from './state'

type CrispContext = DeliveryContext<CrispSettings>

/** Stands in for a partner status when an identify needed no request (nothing changed since the last one). */
const NOT_MODIFIED = 304

/** One partner call's result: either a status to report or the outcome that ends the item. */
type Step = CallResult<{ status: number }>

function step(response: PartnerResponse, context: CrispContext): Step {
  const outcome = classifyCrispResponse(response, context.now())
  return outcome.status === 'delivered' ? { ok: true, status: response.status } : { ok: false, outcome }
}

/**
 * Adds the profile; when Crisp already has that email (`people_exists`, status
 * UNCONFIRMED: we check the reason, not the status) updates it instead.
 */
async function createOrUpdateProfile(
  context: CrispContext,
  createCard: CrispProfileCard,
  updateCard: CrispProfileCard,
  actions: string[],
): Promise<Step> {
  const { websiteId } = context.settings
  const created = await sendToCrisp(context, createProfileRequest(websiteId, createCard))
  if (!isCrispReason(created, 'people_exists')) {
    actions.push('profile created')
    return step(created, context)
  }
  if (!cardHasPersonFields(updateCard)) {
    actions.push('profile exists')
    return { ok: true, status: created.status }
  }
  actions.push('profile exists, updated')
  return step(
    await sendToCrisp(context, updateProfileRequest(websiteId, createCard.email, updateCard)),
    context,
  )
}

function delivered(status: number | undefined, actions: string[]): DeliveryOutcome {
  return status === undefined
    ? {
        status: 'delivered',
        partnerStatus: NOT_MODIFIED,
        summary: 'unchanged since the last identify; no request sent',
      }
    : { status: 'delivered', partnerStatus: status, summary: actions.join('; ') }
}

/**
 * identify: create or update the profile by email, then people data. About one
 * request in steady state: a person known in KV is never fetched first, and a
 * card or data whose fingerprint is unchanged is not sent again.
 */
async function syncIdentify(
  event: EventOf<'identify'>,
  context: CrispContext,
  cache: CrispStateCache,
): Promise<DeliveryOutcome> {
  const traits = event.traits ?? {}
  const userId = typeof event.userId === 'string' ? event.userId : undefined
  const email =
    normalizeEmail(traits.email) ?? (userId !== undefined ? await cache.emailOf(userId) : undefined)
  if (email === undefined) {
    return {
      status: 'dropped',
      reason: 'email_required',
      detail: 'no email trait and the userId is not known to Crisp',
    }
  }
  const { websiteId } = context.settings
  const createCard = mapTraitsToProfileCard(traits, email, { forCreate: true })
  const updateCard = mapTraitsToProfileCard(traits, email, { forCreate: false })
  const data = mapTraitsToPeopleData(traits, userId)
  const profileHash = await fingerprint(updateCard)
  const hasData = Object.keys(data).length > 0

  const actions: string[] = []
  let lastStatus: number | undefined
  let record = await cache.person(email)

  /** Adds the profile (again) and starts a fresh record: its data must be sent too. */
  const addProfile = async (): Promise<Step> => {
    const created = await createOrUpdateProfile(context, createCard, updateCard, actions)
    if (created.ok) {
      record = { profileHash }
      await cache.savePerson(email, record)
    }
    return created
  }
  /**
   * Runs one update. A 404 `people_not_found` means the profile was deleted in Crisp:
   * forget it and add it again; adding already carries the card, so only a data
   * update is sent again after it.
   */
  const update = async (request: PartnerRequest, action: string, kind: 'profile' | 'data'): Promise<Step> => {
    const response = await sendToCrisp(context, request)
    if (!isCrispReason(response, 'people_not_found')) {
      actions.push(action)
      return step(response, context)
    }
    // Adding it again overwrites the remembered record: no separate "forget" write to the same KV key.
    const added = await addProfile()
    if (!added.ok || kind === 'profile') return added
    actions.push(action)
    return step(await sendToCrisp(context, request), context)
  }

  if (record === undefined) {
    const added = await addProfile()
    if (!added.ok) return added.outcome
    lastStatus = added.status
  } else if (cardHasPersonFields(updateCard) && record.profileHash !== profileHash) {
    const updated = await update(
      updateProfileRequest(websiteId, email, updateCard),
      'profile updated',
      'profile',
    )
    if (!updated.ok) return updated.outcome
    lastStatus = updated.status
    record = { ...record, profileHash }
    await cache.savePerson(email, record)
  }
  // The profile exists in Crisp now: tracks can find this user even if the data update below fails.
  if (userId !== undefined) await cache.rememberEmail(userId, email)

  if (hasData) {
    const updated = await update(updatePeopleDataRequest(websiteId, email, data), 'data updated', 'data')
    if (!updated.ok) return updated.outcome
    lastStatus = updated.status
  }

  return delivered(lastStatus, actions)
}

/**
 * track: a people event for the person's email. An unknown user is re-checked once
 * after `unknownUserGraceSeconds` (its identify may be in a later batch, or not yet
 * visible in KV) and then dropped, as Crisp's own Segment destination drops it.
 */
async function addTrackEvent(
  item: DeliveryItem & { event: EventOf<'track'> },
  context: CrispContext,
  cache: CrispStateCache,
): Promise<DeliveryOutcome> {
  const identity = trackIdentity(item.event)
  let email: string | undefined
  if (identity.kind === 'email') email = identity.email
  else if (identity.kind === 'userId') email = await cache.emailOf(identity.userId)
  if (email === undefined) {
    const grace = context.settings.unknownUserGraceSeconds
    if (identity.kind === 'userId' && item.attempt === 1 && grace > 0) {
      return { status: 'retry', error: 'unknown_user_grace', retryAfterSeconds: grace }
    }
    return {
      status: 'dropped',
      reason: 'unknown_user',
      detail:
        identity.kind === 'userId'
          ? 'userId was never identified with an email'
          : 'no userId and no context.traits.email',
    }
  }
  const response = await sendToCrisp(
    context,
    addPeopleEventRequest(context.settings.websiteId, email, mapTrackToPeopleEvent(item.event)),
  )
  if (isCrispReason(response, 'people_not_found')) await cache.forgetPerson(email)
  return classifyCrispResponse(response, context.now())
}

function isIdentify(item: DeliveryItem): item is DeliveryItem & { event: EventOf<'identify'> } {
  return item.event.type === 'identify'
}

function isTrack(item: DeliveryItem): item is DeliveryItem & { event: EventOf<'track'> } {
  return item.event.type === 'track'
}

/** KV failures are ours, not Crisp's: retry the item rather than lose the whole batch's outcomes. */
async function guarded(run: () => Promise<DeliveryOutcome>): Promise<DeliveryOutcome> {
  try {
    return await run()
  } catch (error) {
    return { status: 'retry', error: 'crisp_state_error', summary: String((error as Error).message ?? error) }
  }
}

/**
 * Identifies run first and one by one (they fill the userId → email map and may
 * touch the same person); tracks then run concurrently under the router's cap.
 */
export async function deliverToCrisp(
  items: DeliveryItem[],
  context: CrispContext,
): Promise<DeliveryOutcome[]> {
  const cache = new CrispStateCache(context.state)
  const outcomes: DeliveryOutcome[] = items.map((item) => ({
    status: 'dropped',
    reason: 'unsupported_call',
    detail: `${CRISP_NAME} does not take ${item.event.type} calls`,
  }))
  for (const [index, item] of items.entries()) {
    if (isIdentify(item)) outcomes[index] = await guarded(() => syncIdentify(item.event, context, cache))
  }
  await Promise.all(
    items.map(async (item, index) => {
      if (isTrack(item)) outcomes[index] = await guarded(() => addTrackEvent(item, context, cache))
    }),
  )
  return outcomes
}

export const crispDestination: DestinationDefinition<CrispSettings> = {
  name: CRISP_NAME,
  settings: CrispSettingsSchema,
  defaultApiBase: CRISP_API_ORIGIN,
  // partners.md §2.6: a plugin token may make 5,000 requests a day, a website token 10,000;
  // the user tier's limits are per route and unpublished.
  defaultRateLimit: (settings) =>
    settings.tier === 'user'
      ? undefined
      : { requests: settings.tier === 'plugin' ? 5_000 : 10_000, perSeconds: 86_400 },
  accepts: ['identify', 'track'],
  secretSettings: ['apiKey'],
  deliver: deliverToCrisp,
}
