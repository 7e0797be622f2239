import { isPlainObject } from '../shared/values'
import type { DeliveryContext, DeliveryItem, DeliveryOutcome, DestinationDefinition } from '../types'
import {
  CROSSING_MINDS_ERROR,
  classifyCrossingMindsResponse,
  databaseKey,
  parseCrossingMindsError,
  type SessionKeeper,
  sendAuthorized,
  sessionKeeperFor,
} from './client'
import { knownProperties, rememberProperties } from './declared-properties'
import {
  buildInteractionsRequest,
  buildUserPatch,
  declarePropertyRequest,
  type EncodedInteractionPlan,
  encodeIdForPath,
  encodeInteractionPlan,
  getPropertyRequest,
  type IdTypes,
  type InteractionPlan,
  isDropped,
  mapIdentifyToUserUpdate,
  mapTrackToInteractions,
  type PropertySpec,
  propertiesToDeclare,
  propertyKey,
  type UserPropertiesUpdate,
  userPatchRequest,
} from './mapping'
import { type CrossingMindsSettings, CrossingMindsSettingsSchema } from './settings'

type Context = DeliveryContext<CrossingMindsSettings>
type Outcomes = (DeliveryOutcome | undefined)[]

type DeclarationResult = { ok: true; spec: PropertySpec } | { ok: false; outcome: DeliveryOutcome }

/**
 * Declares one user property. DUPLICATED (code 42) means it exists already (another
 * isolate, or declared outside the router): read its real type so values conform.
 */
async function declareProperty(
  context: Context,
  keeper: SessionKeeper,
  spec: PropertySpec,
): Promise<DeclarationResult> {
  const sent = await sendAuthorized(context, keeper, declarePropertyRequest(spec))
  if (!sent.ok) return sent
  const { response } = sent
  if (response.status >= 200 && response.status < 300) return { ok: true, spec }
  if (parseCrossingMindsError(response.body).code !== CROSSING_MINDS_ERROR.duplicated)
    return { ok: false, outcome: classifyCrossingMindsResponse(response, context.now()) }
  const existing = await sendAuthorized(context, keeper, getPropertyRequest(spec.name))
  const body = existing.ok && existing.response.status === 200 ? existing.response.body : undefined
  if (isPlainObject(body) && typeof body.value_type === 'string')
    return {
      ok: true,
      spec: {
        name: typeof body.property_name === 'string' ? body.property_name : spec.name,
        valueType: body.value_type,
        repeated: body.repeated === true,
      },
    }
  return { ok: true, spec }
}

/** identify → declare missing properties (once per database), then one PATCH per user. */
async function upsertUsers(
  context: Context,
  keeper: SessionKeeper,
  idTypes: IdTypes,
  updates: { index: number; update: UserPropertiesUpdate }[],
  outcomes: Outcomes,
): Promise<void> {
  if (updates.length === 0) return
  const dbKey = await databaseKey(context)
  const names = updates.flatMap(({ update }) => update.properties.map(({ spec }) => spec.name))
  const known = await knownProperties(context, dbKey, names)
  const missing = propertiesToDeclare(
    updates.map(({ update }) => update),
    known,
  )
  const results = await Promise.all(missing.map((spec) => declareProperty(context, keeper, spec)))
  const declared = new Map(known)
  const failedDeclarations = new Map<string, DeliveryOutcome>()
  const newlyDeclared: PropertySpec[] = []
  results.forEach((result, i) => {
    const wanted = missing[i] as PropertySpec
    if (result.ok) {
      declared.set(propertyKey(wanted.name), result.spec)
      newlyDeclared.push(result.spec)
    } else failedDeclarations.set(propertyKey(wanted.name), result.outcome)
  })
  await rememberProperties(context, dbKey, newlyDeclared)

  await Promise.all(
    updates.map(async ({ index, update }) => {
      // A trait that could not be declared makes the whole identify wait (retry) or fail, never vanish silently.
      const blocked = update.properties.find(({ spec }) => failedDeclarations.has(propertyKey(spec.name)))
      if (blocked) {
        outcomes[index] = failedDeclarations.get(propertyKey(blocked.spec.name))
        return
      }
      const userPath = encodeIdForPath(update.userId, idTypes.user)
      if (userPath === undefined) {
        outcomes[index] = {
          status: 'dropped',
          reason: 'invalid_user_id',
          detail: `userId does not fit the database's ${idTypes.user} user ids`,
        }
        return
      }
      const { user, skipped } = buildUserPatch(update, declared)
      const sent = await sendAuthorized(context, keeper, userPatchRequest(userPath, user))
      const outcome = sent.ok ? classifyCrossingMindsResponse(sent.response, context.now()) : sent.outcome
      outcomes[index] =
        outcome.status === 'delivered' && skipped.length > 0
          ? { ...outcome, summary: `traits left out: ${skipped.join(', ')}`.slice(0, 300) }
          : outcome
    }),
  )
}

/**
 * Sends one bulk request for the plans; when a multi-event bulk is refused as bad
 * data (400), resends each event alone so one bad event cannot fail the others.
 */
async function sendInteractions(
  context: Context,
  keeper: SessionKeeper,
  entries: { index: number; plan: EncodedInteractionPlan }[],
  outcomes: Outcomes,
): Promise<void> {
  if (entries.length === 0) return
  const sent = await sendAuthorized(
    context,
    keeper,
    buildInteractionsRequest(entries.map(({ plan }) => plan)),
  )
  const outcome = sent.ok ? classifyCrossingMindsResponse(sent.response, context.now()) : sent.outcome
  if (outcome.status === 'failed' && outcome.partnerStatus === 400 && entries.length > 1) {
    await Promise.all(entries.map((entry) => sendInteractions(context, keeper, [entry], outcomes)))
    return
  }
  for (const { index, plan } of entries)
    outcomes[index] =
      outcome.status === 'delivered'
        ? {
            ...outcome,
            summary: `${plan.interactions.length} interaction${plan.interactions.length === 1 ? '' : 's'}`,
          }
        : outcome
}

/** track → interactions: one bulk request for identified users, one for anonymous sessions. */
async function recordInteractions(
  context: Context,
  keeper: SessionKeeper,
  idTypes: IdTypes,
  plans: { index: number; plan: InteractionPlan }[],
  outcomes: Outcomes,
): Promise<void> {
  const byKind = { user: [], session: [] } as Record<
    'user' | 'session',
    { index: number; plan: EncodedInteractionPlan }[]
  >
  for (const { index, plan } of plans) {
    const encoded = encodeInteractionPlan(plan, idTypes)
    if (isDropped(encoded)) outcomes[index] = encoded
    else byKind[encoded.kind].push({ index, plan: encoded })
  }
  await sendInteractions(context, keeper, byKind.user, outcomes)
  await sendInteractions(context, keeper, byKind.session, outcomes)
}

async function deliverToCrossingMinds(items: DeliveryItem[], context: Context): Promise<DeliveryOutcome[]> {
  const outcomes: Outcomes = items.map(() => undefined)
  const updates: { index: number; update: UserPropertiesUpdate }[] = []
  const plans: { index: number; plan: InteractionPlan }[] = []
  items.forEach(({ event }, index) => {
    if (event.type === 'identify') {
      const mapped = mapIdentifyToUserUpdate(event)
      if (isDropped(mapped)) outcomes[index] = mapped
      else updates.push({ index, update: mapped })
    } else if (event.type === 'track') {
      const mapped = mapTrackToInteractions(event, context.settings)
      if (isDropped(mapped)) outcomes[index] = mapped
      else plans.push({ index, plan: mapped })
    } else outcomes[index] = { status: 'dropped', reason: 'unsupported_call' }
  })

  try {
    if (updates.length > 0 || plans.length > 0) {
      const keeper = await sessionKeeperFor(context)
      const session = await keeper.current(context)
      if (!session.ok) return outcomes.map((outcome) => outcome ?? session.outcome)
      // Users first, so an identify and its user's interactions in one batch arrive in that order.
      await upsertUsers(context, keeper, session.session.idTypes, updates, outcomes)
      await recordInteractions(context, keeper, session.session.idTypes, plans, outcomes)
    }
  } catch (error) {
    // Not a partner answer (e.g. KV unavailable): let the router try these items again.
    const message = error instanceof Error ? error.message : String(error)
    return outcomes.map((outcome) => outcome ?? { status: 'retry', error: `internal_error: ${message}` })
  }
  return outcomes.map((outcome) => outcome ?? { status: 'retry', error: 'internal_error: no outcome' })
}

export const crossingMindsDestination: DestinationDefinition<CrossingMindsSettings> = {
  name: 'Crossing Minds',
  settings: CrossingMindsSettingsSchema,
  defaultApiBase: 'https://api.crossingminds.com',
  accepts: ['identify', 'track'],
  secretSettings: ['apiPassword'],
  deliver: deliverToCrossingMinds,
}
