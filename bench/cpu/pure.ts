/**
 * Target 2: CPU per event for validate + route + map to all four partners, in
 * process, with the router's own pure functions, against a plain-V8 pass
 * (JSON.parse + a valibot check of the common fields + the four partner bodies
 * built naively) measured in the same process and run. Both sides start from the
 * event's JSON text and end with the partner request bodies serialised, the bytes
 * that would go on the wire. Prints one JSON object.
 *
 *   tsx bench/cpu/pure.ts [events=2000] [rounds=31]
 */
import { validateConfig } from '../../src/config/schema'
import { routeEvent } from '../../src/delivery/routing'
import { mapEventToCalixaRequest } from '../../src/destinations/calixa/mapping'
import type { CalixaSettings } from '../../src/destinations/calixa/settings'
import { crispHeaders } from '../../src/destinations/crisp/client'
import {
  addPeopleEventRequest,
  createProfileRequest,
  mapTrackToPeopleEvent,
  mapTraitsToPeopleData,
  mapTraitsToProfileCard,
  normalizeEmail,
  trackIdentity,
  updatePeopleDataRequest,
} from '../../src/destinations/crisp/mapping'
import type { CrispSettings } from '../../src/destinations/crisp/settings'
import {
  encodeIdForPath,
  encodeInteractionPlan,
  type IdTypes,
} from '../../src/destinations/crossing-minds/ids'
import {
  buildUserPatch,
  isDropped,
  mapIdentifyToUserUpdate,
  mapTrackToInteractions,
  type PropertySpec,
  propertiesToDeclare,
  propertyKey,
} from '../../src/destinations/crossing-minds/mapping'
import { buildInteractionsRequest, userPatchRequest } from '../../src/destinations/crossing-minds/requests'
import type { CrossingMindsSettings } from '../../src/destinations/crossing-minds/settings'
import { crowdPowerHeaders } from '../../src/destinations/crowdpower/client'
import {
  chargeRequest,
  customerRequest,
  eventRequest,
  mapEventToCrowdPower,
} from '../../src/destinations/crowdpower/mapping'
import type { CrowdPowerSettings } from '../../src/destinations/crowdpower/settings'
import type { PartnerRequest } from '../../src/destinations/types'
import { holdsOnlyPlainStrings } from '../../src/ingest/limits'
import { normalizeEvent } from '../../src/ingest/normalize'
import type { SegmentEvent } from '../../src/segment/schema'
import { DELIVERY_SOURCE, partnerDestinations } from '../lib/config'
import { makeUsers, mixedStream } from '../lib/events'
import { naiveBodies } from './naive'

const EVENTS = Number(process.argv[2] ?? 2000)
const ROUNDS = Number(process.argv[3] ?? 31)
const NOW = new Date().toISOString()
const SENT_AT = NOW

const validated = validateConfig({
  sources: [{ ...DELIVERY_SOURCE, destinations: partnerDestinations('http://127.0.0.1:9', 'pure') }],
})
if (!validated.ok) throw new Error(`bench config invalid: ${JSON.stringify(validated.issues)}`)
const [firstSource] = validated.config.sources
if (!firstSource) throw new Error('no source')
const source = firstSource
const settingsOf = (name: string) => source.destinations[name]?.settings
const crisp = settingsOf('Crisp') as CrispSettings
const crowdPower = settingsOf('CrowdPower') as CrowdPowerSettings
const crossingMinds = settingsOf('Crossing Minds') as CrossingMindsSettings
const calixa = settingsOf('Calixa') as CalixaSettings

const users = makeUsers(400)
const texts = mixedStream(EVENTS, users, 11, 'pure').map((event) => JSON.stringify(event))
/** Steady state, as a warm consumer sees it: every user's email known (KV), every property declared. */
const emails = new Map(users.map((user) => [user.userId, user.email.toLowerCase()]))
const idTypes: IdTypes = { user: 'urlsafe64', item: 'urlsafe64', session: 'urlsafe64' }
const declared = new Map<string, PropertySpec>()

/** Crisp: what `syncIdentify` / `addTrackEvent` compute before calling Crisp (first identify: create + data). */
function crispRequests(event: SegmentEvent): PartnerRequest[] {
  if (event.type === 'identify') {
    const traits = event.traits ?? {}
    const userId = typeof event.userId === 'string' ? event.userId : undefined
    const email = normalizeEmail(traits.email) ?? (userId !== undefined ? emails.get(userId) : undefined)
    if (email === undefined) return []
    const createCard = mapTraitsToProfileCard(traits, email, { forCreate: true })
    mapTraitsToProfileCard(traits, email, { forCreate: false })
    const data = mapTraitsToPeopleData(traits, userId)
    return [
      createProfileRequest(crisp.websiteId, createCard),
      updatePeopleDataRequest(crisp.websiteId, email, data),
    ]
  }
  if (event.type !== 'track') return []
  const identity = trackIdentity(event)
  const email =
    identity.kind === 'email'
      ? identity.email
      : identity.kind === 'userId'
        ? emails.get(identity.userId)
        : undefined
  if (email === undefined) return []
  return [addPeopleEventRequest(crisp.websiteId, email, mapTrackToPeopleEvent(event))]
}

function crowdPowerRequests(event: SegmentEvent): PartnerRequest[] {
  const call = mapEventToCrowdPower(event, crowdPower)
  if (call.route === 'drop') return []
  if (call.route === 'customers') return [customerRequest(call.customer)]
  if (call.route === 'events') return [eventRequest(call.user, call.event)]
  return [chargeRequest(call.user, call.charge)]
}

function crossingMindsRequests(event: SegmentEvent): PartnerRequest[] {
  if (event.type === 'identify') {
    const update = mapIdentifyToUserUpdate(event)
    if (isDropped(update)) return []
    for (const spec of propertiesToDeclare([update], declared)) declared.set(propertyKey(spec.name), spec)
    const path = encodeIdForPath(update.userId, idTypes.user)
    if (path === undefined) return []
    return [userPatchRequest(path, buildUserPatch(update, declared).user)]
  }
  if (event.type !== 'track') return []
  const plan = mapTrackToInteractions(event, crossingMinds)
  if (isDropped(plan)) return []
  const encoded = encodeInteractionPlan(plan, idTypes)
  return isDropped(encoded) ? [] : [buildInteractionsRequest([encoded])]
}

function calixaRequests(event: SegmentEvent): PartnerRequest[] {
  const request = mapEventToCalixaRequest(event, calixa)
  return 'status' in request ? [] : [request]
}

const HEADERS: Record<string, (request: PartnerRequest) => Record<string, string>> = {
  Crisp: () => crispHeaders(crisp),
  CrowdPower: () => crowdPowerHeaders(crowdPower),
  'Crossing Minds': () => ({ authorization: 'Bearer jwt' }),
  Calixa: (request) => request.headers ?? {},
}

const MAPPERS: Record<string, (event: SegmentEvent) => PartnerRequest[]> = {
  Crisp: crispRequests,
  CrowdPower: crowdPowerRequests,
  'Crossing Minds': crossingMindsRequests,
  Calixa: calixaRequests,
}

interface PassResult {
  bodies: number
  bytes: number
}

/** What reading a body gives with its text: its size in bytes. */
const textBytes = texts.map((text) => Buffer.byteLength(text))

/**
 * Ingest's validation of one event of a 20-event batch, as /v1/batch runs it (which
 * checks the request's text once for escapes and non-ASCII: here each event's own text).
 */
function validate(raw: unknown, index: number): SegmentEvent {
  const outcome = normalizeEvent(raw, {
    source: source.name,
    now: NOW,
    times: 'tracking',
    path: `batch.${index}`,
    defaults: { sentAt: SENT_AT },
    plainStrings: holdsOnlyPlainStrings(texts[index] as string, textBytes[index] as number),
  })
  if (!outcome.ok) throw new Error(`bench event rejected: ${JSON.stringify(outcome.issues)}`)
  return outcome.event
}

/** The router's path: normalise (validate) as ingest does, route as the consumer does, map, serialise. */
function routerPass(): PassResult {
  let bodies = 0
  let bytes = 0
  for (let index = 0; index < texts.length; index += 1) {
    const event = validate(JSON.parse(texts[index] as string), index)
    for (const decision of routeEvent(event, source)) {
      if (!('deliver' in decision)) continue
      for (const request of MAPPERS[decision.destination]?.(event) ?? []) {
        HEADERS[decision.destination]?.(request)
        bytes += JSON.stringify(request.body).length
        bodies += 1
      }
    }
  }
  return { bodies, bytes }
}

function naivePass(): PassResult {
  let bodies = 0
  let bytes = 0
  for (const text of texts) {
    for (const body of naiveBodies(text, emails, NOW)) {
      bytes += body.length
      bodies += 1
    }
  }
  return { bodies, bytes }
}

function cpuMicros(): number {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

function timed(pass: () => PassResult): { us: number; result: PassResult } {
  const start = cpuMicros()
  const result = pass()
  return { us: cpuMicros() - start, result }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

// Warm-up: JIT both paths, fill the declared-properties map.
for (let round = 0; round < 3; round += 1) {
  routerPass()
  naivePass()
}

const routerUs: number[] = []
const naiveUs: number[] = []
let routerResult: PassResult = { bodies: 0, bytes: 0 }
let naiveResult: PassResult = { bodies: 0, bytes: 0 }
for (let round = 0; round < ROUNDS; round += 1) {
  // Which pass goes first alternates, so neither keeps paying for the garbage the other left.
  const routerFirst = round % 2 === 0
  const first = timed(routerFirst ? routerPass : naivePass)
  const second = timed(routerFirst ? naivePass : routerPass)
  const [router, naive] = routerFirst ? [first, second] : [second, first]
  routerUs.push(router.us / texts.length)
  naiveUs.push(naive.us / texts.length)
  routerResult = router.result
  naiveResult = naive.result
}

/**
 * Where the router pass spends its time, phase by phase, in a separate pass (its timer
 * calls would weigh on the measured one): µs per event, medians over rounds.
 */
function routerPhases(): Record<string, number> {
  const spent: Record<string, number> = {}
  const add = (phase: string, since: number) => {
    const now = performance.now()
    spent[phase] = (spent[phase] ?? 0) + (now - since) * 1000
    return now
  }
  for (let index = 0; index < texts.length; index += 1) {
    let at = performance.now()
    const raw: unknown = JSON.parse(texts[index] as string)
    at = add('JSON.parse', at)
    const event = validate(raw, index)
    at = add('validate (normalizeEvent)', at)
    const decisions = routeEvent(event, source)
    at = add('route (routeEvent)', at)
    for (const decision of decisions) {
      if (!('deliver' in decision)) continue
      const requests = MAPPERS[decision.destination]?.(event) ?? []
      for (const request of requests) HEADERS[decision.destination]?.(request)
      at = add(`map: ${decision.destination}`, at)
      for (const request of requests) JSON.stringify(request.body)
      at = add('serialise bodies', at)
    }
  }
  for (const phase of Object.keys(spent)) spent[phase] = (spent[phase] ?? 0) / texts.length
  return spent
}

const phaseRounds: Record<string, number>[] = []
for (let round = 0; round < 3; round += 1) phaseRounds.push(routerPhases())
const phases = Object.fromEntries(
  Object.keys(phaseRounds[0] ?? {}).map((phase) => [
    phase,
    median(phaseRounds.map((round) => round[phase] ?? 0)),
  ]),
)

const routerPerEvent = median(routerUs)
const naivePerEvent = median(naiveUs)
// Each round runs both passes back to back, under the same load from the rest of the
// machine (and the same garbage-collector threads): the ratio is taken round by round,
// then the median of those ratios.
const ratioRounds = routerUs.map((us, round) => us / (naiveUs[round] as number))
process.stdout.write(
  `${JSON.stringify({
    events: texts.length,
    rounds: ROUNDS,
    routerUsPerEvent: routerPerEvent,
    naiveUsPerEvent: naivePerEvent,
    ratio: median(ratioRounds),
    ratioRounds,
    routerRounds: routerUs,
    naiveRounds: naiveUs,
    routerBodies: routerResult.bodies,
    routerBytes: routerResult.bytes,
    naiveBodies: naiveResult.bodies,
    naiveBytes: naiveResult.bytes,
    routerPhasesUsPerEvent: phases,
  })}\n`,
)
