import { isPlainObject } from '../../lib/objects'
import type { ScalarOrList } from '../shared/values'
import type {
  CallResult,
  DeliveryContext,
  DeliveryItem,
  DeliveryOutcome,
  DestinationDefinition,
  PartnerRequest,
} from '../types'
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
  type EncodedInteractionPlan,
  encodeIdForBody,
  encodeIdForPath,
  encodeInteractionPlan,
  type IdTypes,
} from './ids'
import {
  buildUserPatch,
  type InteractionPlan,
  isDropped,
  mapIdentifyToUserUpdate,
  mapTrackToInteractions,
  type PropertySpec,
  propertiesToDeclare,
  propertyKey,
  type UserPropertiesUpdate,
} from './mapping'
import {
  buildInteractionsRequest,
  declarePropertyRequest,
  getPropertyRequest,
  MAX_BULK_USERS,
  userPatchRequest,
  usersBulkPatchRequest,
} from './requests'
import { CROSSING_MINDS_NAME, type CrossingMindsSettings, CrossingMindsSettingsSchema } from './settings'

type Context = DeliveryContext<CrossingMindsSettings>
type Outcomes = (DeliveryOutcome | undefined)[]

/**
 * Declares one user property. DUPLICATED (code 42) means it exists already (another
 * isolate, or declared outside the router): read its real type so values conform.
 */
async function declareProperty(
  context: Context,
  keeper: SessionKeeper,
  spec: PropertySpec,
): Promise<CallResult<{ spec: PropertySpec }>> {
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

/** A user's PATCH, ready to go alone (path id) or in a bulk row (body id). */
interface UserWrite {
  index: number
  userPath: string
  userBodyId: string | number
  user: Record<string, ScalarOrList>
  skipped: string[]
}

/**
 * Consecutive chunks of at most MAX_BULK_USERS writes, a new chunk whenever a user
 * comes again, so two identifies of one user in a batch still land in order.
 */
function chunkUserWrites(writes: readonly UserWrite[]): UserWrite[][] {
  const chunks: UserWrite[][] = []
  let current: UserWrite[] = []
  let users = new Set<string>()
  for (const write of writes) {
    if (current.length === MAX_BULK_USERS || users.has(write.userPath)) {
      chunks.push(current)
      current = []
      users = new Set()
    }
    current.push(write)
    users.add(write.userPath)
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

/**
 * Sends entries as one request. When a request for several entries is refused as
 * bad data (400), each entry is resent alone, so one bad event cannot fail the others.
 * `summaryOf` describes a delivered entry in the ledger.
 */
async function sendSplittingOnBadData<Entry extends { index: number }>(
  context: Context,
  keeper: SessionKeeper,
  entries: Entry[],
  requestFor: (entries: Entry[]) => PartnerRequest,
  summaryOf: (entry: Entry) => string | undefined,
  outcomes: Outcomes,
): Promise<void> {
  if (entries.length === 0) return
  const sent = await sendAuthorized(context, keeper, requestFor(entries))
  const outcome = sent.ok ? classifyCrossingMindsResponse(sent.response, context.now()) : sent.outcome
  if (outcome.status === 'failed' && outcome.partnerStatus === 400 && entries.length > 1) {
    await Promise.all(
      entries.map((entry) =>
        sendSplittingOnBadData(context, keeper, [entry], requestFor, summaryOf, outcomes),
      ),
    )
    return
  }
  for (const entry of entries) {
    const summary = outcome.status === 'delivered' ? summaryOf(entry) : undefined
    outcomes[entry.index] =
      outcome.status === 'delivered' && summary !== undefined ? { ...outcome, summary } : outcome
  }
}

/** A lone user goes to its own route, several to the bulk route. */
function userWritesRequest(writes: UserWrite[]): PartnerRequest {
  const [lone] = writes
  if (writes.length === 1 && lone) return userPatchRequest(lone.userPath, lone.user)
  return usersBulkPatchRequest(writes.map(({ userBodyId, user }) => ({ userId: userBodyId, user })))
}

function skippedTraitsSummary(write: UserWrite): string | undefined {
  return write.skipped.length > 0 ? `traits left out: ${write.skipped.join(', ')}`.slice(0, 300) : undefined
}

function interactionsRequest(entries: { plan: EncodedInteractionPlan }[]): PartnerRequest {
  return buildInteractionsRequest(entries.map(({ plan }) => plan))
}

function interactionsSummary({ plan }: { plan: EncodedInteractionPlan }): string {
  return `${plan.interactions.length} interaction${plan.interactions.length === 1 ? '' : 's'}`
}

/** identify → declare missing properties (once per database), then the users' PATCHes, in bulk. */
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

  const writes: UserWrite[] = []
  for (const { index, update } of updates) {
    // A trait that could not be declared makes the whole identify wait (retry) or fail, never vanish silently.
    const blocked = update.properties.find(({ spec }) => failedDeclarations.has(propertyKey(spec.name)))
    if (blocked) {
      outcomes[index] = failedDeclarations.get(propertyKey(blocked.spec.name))
      continue
    }
    const userPath = encodeIdForPath(update.userId, idTypes.user)
    const userBodyId = encodeIdForBody(update.userId, idTypes.user)
    if (userPath === undefined || userBodyId === undefined) {
      outcomes[index] = {
        status: 'dropped',
        reason: 'invalid_user_id',
        detail: `userId does not fit the database's ${idTypes.user} user ids`,
      }
      continue
    }
    const { user, skipped } = buildUserPatch(update, declared)
    writes.push({ index, userPath, userBodyId, user, skipped })
  }
  for (const chunk of chunkUserWrites(writes))
    await sendSplittingOnBadData(context, keeper, chunk, userWritesRequest, skippedTraitsSummary, outcomes)
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
  for (const entries of [byKind.user, byKind.session])
    await sendSplittingOnBadData(context, keeper, entries, interactionsRequest, interactionsSummary, outcomes)
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
  name: CROSSING_MINDS_NAME,
  settings: CrossingMindsSettingsSchema,
  defaultApiBase: 'https://api.crossingminds.com',
  // partners.md §1.6: plan-dependent and unpublished; "a few tens of requests per second" assumed.
  defaultRateLimit: () => ({ requests: 20, perSeconds: 1 }),
  accepts: ['identify', 'track'],
  secretSettings: ['apiPassword'],
  deliver: deliverToCrossingMinds,
}
