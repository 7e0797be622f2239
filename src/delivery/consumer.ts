import type { SourceConfig } from '../config/schema'
import { findSourceByName, loadConfig } from '../config/store'
import type { DeliveryItem, DeliveryOutcome } from '../destinations/types'
import type { Bindings } from '../env'
import { type DestinationOutcomeLog, logInfo, logWarn } from '../lib/log'
import type { DeliveryMessage } from '../queue/message'
import type { SegmentEvent } from '../segment/schema'
import { type SubrequestBudget, subrequestBudget } from './budget'
import { createDeliveryContext } from './context'
import {
  type DestinationState,
  type EventKey,
  type EventWrite,
  eventKey,
  readEvents,
  recordOutcomes,
  type StoredEvent,
} from './ledger'
import { queueDelaySeconds, RETRY_WINDOW_MS, retryDelaySeconds } from './retry-policy'
import { type RoutingDecision, routeEvent } from './routing'

type Delivery = Extract<RoutingDecision, { deliver: unknown }>['deliver']

/** One event of one queue message, with what this batch decides and writes for it. */
interface EventPlan extends EventKey {
  message: Message<DeliveryMessage>
  event: SegmentEvent
  stored: StoredEvent | undefined
  write: EventWrite
}

/** A (event, destination) pair this batch hands to its destination now. */
interface DueAttempt {
  plan: EventPlan
  destination: string
  delivery: Delivery
  /** The event as this destination may see it (after its field controls). */
  event: SegmentEvent
  previous: DestinationState | undefined
}

/** Drops decided before any partner is involved: replaying them would give the same answer. */
const ROUTING_DROPS = new Set(['unsupported_call', 'integrations_off', 'unknown_destination'])

/** Identifies first, so a track in the same batch finds the user its identify just created. */
function callOrder(event: SegmentEvent): number {
  return event.type === 'identify' ? 0 : 1
}

/**
 * The queue consumer: routes each event to its source's destinations, skips
 * what the ledger says is done (or owned by an earlier copy of the same
 * messageId), delivers the due pairs per destination in parallel, records every
 * outcome in one D1 batch, and re-queues a message with a delay while any of
 * its pairs is retrying.
 */
export async function consumeDeliveryBatch(
  batch: MessageBatch<DeliveryMessage>,
  env: Bindings,
): Promise<void> {
  const config = await loadConfig(env)
  const now = Date.now()
  const sourced: [Message<DeliveryMessage>, SourceConfig][] = []
  for (const message of batch.messages) {
    const source = findSourceByName(config, message.body.source)
    if (source) sourced.push([message, source])
    else {
      // The source was removed from the config after the event was accepted: nothing to route to.
      logWarn({ msg: 'source no longer configured; message dropped', source: message.body.source })
      message.ack()
    }
  }

  const keys = sourced.flatMap(([message]) =>
    message.body.events.map((event) => ({ source: message.body.source, messageId: event.messageId })),
  )
  const stored = await readEvents(env.LEDGER, keys)

  const plans: EventPlan[] = []
  const due: DueAttempt[] = []
  const duplicates = new Map<string, EventKey & { count: number }>()
  /** Earliest next attempt per message still waiting on a retry. */
  const waiting = new Map<Message<DeliveryMessage>, number>()
  const wait = (message: Message<DeliveryMessage>, at: number) =>
    waiting.set(message, Math.min(waiting.get(message) ?? Number.POSITIVE_INFINITY, at))

  const countDuplicate = (key: EventKey) => {
    const entry = duplicates.get(eventKey(key)) ?? { ...key, count: 0 }
    entry.count += 1
    duplicates.set(eventKey(key), entry)
  }
  /** Events this batch already routes from a client's copy: a second copy in the batch is a duplicate. */
  const routedHere = new Set<string>()

  for (const [message, source] of sourced) {
    const { ingestId, only } = message.body
    const isReplay = only !== undefined
    for (const event of message.body.events) {
      const key = { source: source.name, messageId: event.messageId }
      const existing = stored.get(eventKey(key))
      // The event belongs to the client copy that first routed it. Another copy is a duplicate,
      // delivered nowhere. (A replay owns only the pairs it took; see below.)
      const ownsEvent =
        !existing || Object.values(existing.destinations).some((state) => state.ingestId === ingestId)
      if (!isReplay && (routedHere.has(eventKey(key)) || !ownsEvent)) {
        countDuplicate(key)
        continue
      }
      if (!isReplay) routedHere.add(eventKey(key))
      const plan: EventPlan = {
        ...key,
        message,
        event,
        stored: existing,
        write: { ...key, event, isNew: existing === undefined, states: {}, keepBody: false },
      }
      const decisions = routeEvent(event, source, only)
      if (existing && !isReplay) closeUnroutedRetries(plan, existing, decisions, ingestId, now)
      for (const decision of decisions) {
        const previous = existing?.destinations[decision.destination]
        // A pair held by someone else is theirs: a replay that took it from the event's owner,
        // or, for a replay message, another replay that took it first. A destination added to
        // the config since the event was first routed belongs to the event's owner.
        if (previous ? previous.ingestId !== ingestId : isReplay) continue
        if (
          previous?.status === 'delivered' ||
          previous?.status === 'dropped' ||
          previous?.status === 'failed'
        )
          continue
        if (
          previous?.status === 'retrying' &&
          previous.nextAttemptAt !== null &&
          previous.nextAttemptAt > now
        ) {
          wait(message, previous.nextAttemptAt)
          continue
        }
        if ('drop' in decision) {
          plan.write.states[decision.destination] = newState(ingestId, previous, now, {
            status: 'dropped',
            reason: decision.drop,
            summary: decision.detail ?? null,
          })
        } else
          due.push({
            plan,
            destination: decision.destination,
            delivery: decision.deliver,
            event: decision.event,
            previous,
          })
      }
      plans.push(plan)
    }
  }

  await deliverDue(env, due, wait, subrequestBudget(env))

  const writes = plans.map((plan) => plan.write).filter((write) => Object.keys(write.states).length > 0)
  for (const write of writes) logOutcomes(write)
  const lostRaces = await recordOutcomes(env.LEDGER, writes, duplicates, Date.now())
  if (lostRaces.length > 0) await recordConcurrentDuplicates(env, lostRaces)
  await sendDeadLetters(env, writes)

  for (const message of batch.messages) {
    if (!sourced.some(([sourcedMessage]) => sourcedMessage === message)) continue
    const nextAttemptAt = waiting.get(message)
    if (nextAttemptAt === undefined) message.ack()
    else message.retry({ delaySeconds: queueDelaySeconds((nextAttemptAt - Date.now()) / 1000) })
  }
}

/**
 * A pair still retrying whose destination was removed or disabled in the config
 * since: nothing will deliver it any more, so it is closed as a drop, not left
 * retrying for ever.
 */
function closeUnroutedRetries(
  plan: EventPlan,
  existing: StoredEvent,
  decisions: RoutingDecision[],
  ingestId: string,
  now: number,
): void {
  const routed = new Set(decisions.map((decision) => decision.destination))
  for (const [destination, state] of Object.entries(existing.destinations)) {
    if (state.status !== 'retrying' || state.ingestId !== ingestId || routed.has(destination)) continue
    plan.write.states[destination] = newState(ingestId, state, now, {
      status: 'dropped',
      reason: 'destination_removed',
      lastError: state.lastError,
    })
    plan.write.keepBody = !existing.hasBody
  }
}

/** Delivers every due pair, per destination in parallel, and puts each outcome on its event's write. */
async function deliverDue(
  env: Bindings,
  due: DueAttempt[],
  wait: (message: Message<DeliveryMessage>, at: number) => void,
  budget: SubrequestBudget,
): Promise<void> {
  const byDestination = Map.groupBy(due, (attempt) => attempt.destination)
  await Promise.all(
    [...byDestination.values()].map(async (attempts) => {
      attempts.sort((a, b) => callOrder(a.plan.event) - callOrder(b.plan.event))
      const outcomes = await deliverSafely(env, attempts, budget)
      const finishedAt = Date.now()
      attempts.forEach((attempt, index) => {
        const state = toState(env, attempt, outcomes[index] ?? missingOutcome, finishedAt)
        attempt.plan.write.states[attempt.destination] = state
        if (state.status === 'retrying' && state.nextAttemptAt !== null)
          wait(attempt.plan.message, state.nextAttemptAt)
        if (
          state.status === 'failed' ||
          (state.status === 'dropped' && !ROUTING_DROPS.has(state.reason ?? ''))
        ) {
          attempt.plan.write.keepBody = !attempt.plan.stored?.hasBody
        }
      })
    }),
  )
}

/** One log line per event and batch: every destination's new state, ids and outcomes only. */
function logOutcomes(write: EventWrite): void {
  const outcomes: Record<string, DestinationOutcomeLog> = {}
  for (const [destination, state] of Object.entries(write.states)) {
    outcomes[destination] = {
      status: state.status,
      ...(state.reason && { reason: state.reason }),
      ...(state.partnerStatus && { partnerStatus: state.partnerStatus }),
      attempt: state.attempts,
    }
  }
  logInfo({ msg: 'delivery', source: write.source, messageId: write.messageId, outcomes })
}

const missingOutcome: DeliveryOutcome = { status: 'retry', error: 'destination_returned_no_outcome' }

/** Calls a destination's `deliver`; a destination bug becomes a retry for its items, never a lost batch. */
async function deliverSafely(
  env: Bindings,
  attempts: DueAttempt[],
  budget: SubrequestBudget,
): Promise<DeliveryOutcome[]> {
  const first = attempts[0]
  if (!first) return []
  const { definition, config } = first.delivery
  const items: DeliveryItem[] = attempts.map((attempt) => ({
    event: attempt.event,
    attempt: (attempt.previous?.attempts ?? 0) + 1,
  }))
  try {
    return await definition.deliver(
      items,
      createDeliveryContext(env, first.plan.source, definition, config, budget),
    )
  } catch (error) {
    logWarn({ msg: `destination threw: ${(error as Error).message}`, destination: definition.name })
    return attempts.map(() => ({ status: 'retry', error: 'destination_error' }))
  }
}

type StateChange = Pick<DestinationState, 'status'> & Partial<Omit<DestinationState, 'status'>>

/** A pair's next state: every field set (nulls included), so a patch replaces the old state whole. */
function newState(
  ingestId: string,
  previous: DestinationState | undefined,
  now: number,
  change: StateChange,
): DestinationState {
  return {
    ingestId,
    reason: null,
    attempts: previous?.attempts ?? 0,
    nextAttemptAt: null,
    lastError: null,
    partnerStatus: null,
    summary: null,
    replays: previous?.replays ?? 0,
    windowStartedAt: previous?.windowStartedAt ?? now,
    updatedAt: now,
    ...change,
  }
}

/** Turns an outcome into the pair's new state; a retry past the 4-hour window fails for good. */
function toState(
  env: Bindings,
  attempt: DueAttempt,
  outcome: DeliveryOutcome,
  now: number,
): DestinationState {
  const { ingestId } = attempt.plan.message.body
  const attempts = (attempt.previous?.attempts ?? 0) + 1
  const state = (change: StateChange) => newState(ingestId, attempt.previous, now, { attempts, ...change })
  switch (outcome.status) {
    case 'delivered':
      return state({
        status: 'delivered',
        partnerStatus: outcome.partnerStatus,
        summary: outcome.summary ?? null,
      })
    case 'dropped':
      return state({ status: 'dropped', reason: outcome.reason, summary: outcome.detail ?? null })
    case 'failed':
      return state({
        status: 'failed',
        reason: outcome.reason,
        partnerStatus: outcome.partnerStatus ?? null,
        summary: outcome.summary ?? null,
      })
    case 'retry': {
      const nextAttemptAt = now + retryDelaySeconds(env, attempts, outcome.retryAfterSeconds) * 1000
      const detail = {
        lastError: outcome.error,
        partnerStatus: outcome.partnerStatus ?? null,
        summary: outcome.summary ?? null,
      }
      const windowStartedAt = attempt.previous?.windowStartedAt ?? now
      if (nextAttemptAt - windowStartedAt > RETRY_WINDOW_MS) {
        return state({ ...detail, status: 'failed', reason: `retries_exhausted: ${outcome.error}` })
      }
      return state({ ...detail, status: 'retrying', nextAttemptAt })
    }
  }
}

/**
 * Two consumers delivered the same new messageId at once (two copies processed in
 * parallel): the other one's row stands; this delivery is counted as a duplicate
 * so the ledger still says it happened.
 */
async function recordConcurrentDuplicates(env: Bindings, lost: EventWrite[]): Promise<void> {
  for (const write of lost) {
    logWarn({
      msg: 'messageId delivered concurrently by two consumers',
      source: write.source,
      messageId: write.messageId,
    })
  }
  const duplicates = new Map(lost.map((write) => [eventKey(write), { ...write, count: 1 }]))
  await recordOutcomes(env.LEDGER, [], duplicates, Date.now())
}

/** Failed pairs also go to the dead-letter queue, for whoever consumes it (the ledger keeps them either way). */
async function sendDeadLetters(env: Bindings, writes: EventWrite[]): Promise<void> {
  const letters = writes.flatMap((write) =>
    Object.entries(write.states)
      .filter(([, state]) => state.status === 'failed')
      .map(([destination, state]) => ({
        body: {
          source: write.source,
          destination,
          messageId: write.messageId,
          reason: state.reason,
          partnerStatus: state.partnerStatus,
          event: write.event,
        },
      })),
  )
  if (letters.length === 0) return
  try {
    for (let start = 0; start < letters.length; start += 100) {
      await env.DEAD_LETTER_QUEUE.sendBatch(letters.slice(start, start + 100))
    }
  } catch (error) {
    // The ledger already holds the failure (and the event for replay); the DLQ is a copy.
    logWarn({ msg: `dead-letter send failed: ${(error as Error).message}`, count: letters.length })
  }
}
