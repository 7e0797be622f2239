import type { RouterConfig, SourceConfig } from '../config/schema'
import { findSourceByName } from '../config/store'
import { subrequestBudget } from '../delivery/budget'
import { type DueDelivery, deliverDue } from '../delivery/deliver'
import { type GateAnswer, GatePass } from '../delivery/gates'
import { queueDelaySeconds, retryDelaySeconds } from '../delivery/retry-policy'
import { type RoutingDecision, routeEvent, routeOf } from '../delivery/routing'
import type { Bindings } from '../env'
import { eventMeta } from '../ledger/event-meta'
import type { Ledger } from '../ledger/ledger'
import { keyId } from '../ledger/shards'
import { type AttemptOutcome, attemptedState, needsBody, type PairState, pausedState } from '../ledger/state'
import type { ClaimEvent, RecordEvent } from '../ledger/types'
import type { Clock } from '../lib/clock'
import { type DestinationOutcomeLog, logInfo, logWarn } from '../lib/log'
import type { PauseInfo } from '../operations/gate'
import type { SegmentEvent } from '../segment/schema'
import { openBatch, type ReadMessage, retryAfterOwnFault } from './batch'
import type { CarriedOutcome, QueuedDeliveryMessage } from './message'
import { enqueueContinuation } from './produce'

/**
 * How long a claim holds an event while its partner calls run: a queue
 * consumer invocation runs at most 15 minutes, so no live attempt outlasts it.
 */
const LEASE_MS = 15 * 60 * 1000

/** One event of one message on its way through this invocation. */
interface EventWork {
  message: MessageWork
  event: SegmentEvent
  claim: ClaimEvent
  /** Routing's decision per destination that is to be delivered. */
  targets: Map<string, Extract<RoutingDecision, { deliver: unknown }>>
  /** The states this invocation gives its pairs. */
  states: Record<string, PairState>
  keepBody: boolean
  /** The ledger leased the event to this invocation: its record releases the lease. */
  leased: boolean
}

interface MessageWork {
  read: ReadMessage
  source: SourceConfig
  events: EventWork[]
  /** Earliest time something of it is due again; undefined when it is done. */
  waitUntil?: number
  /** Earliest time a pair its destination gate held back may go (a pause, a 429, the rate limit). */
  deferUntil?: number
  /** Our own storage (the ledger, a destination gate) failed for part of it: retried with backoff. */
  ownFault?: 'ledger_unavailable' | 'gate_unavailable'
  /** Outcomes the ledger did not take, carried by a continuation. */
  unrecorded: CarriedOutcome[]
}

/**
 * The delivery queue's consumer, one batch at a time:
 * read → record what continuations carry → route → claim in the ledger →
 * pass the destination gates → deliver → record the outcomes → ack, retry or continue.
 * Nothing is sent before the ledger has claimed it, and an outcome the ledger
 * fails to record travels on in a continuation message instead of being sent
 * again (docs/storage.md, "Faults").
 */
export async function consumeDeliveries(
  batch: MessageBatch<QueuedDeliveryMessage>,
  env: Bindings,
  clock: Clock,
): Promise<void> {
  const opened = await openBatch(batch, env, clock)
  if (!opened) return
  const { ready, config, ledger } = opened
  const work = routeMessages(ready, config)
  const claimId = crypto.randomUUID()
  const claimed = await claimDue(ledger, work, claimId, clock.now())
  const gates = new GatePass(env)
  const due = await passGates(gates, claimed, clock.now())
  const outcomes = await deliverDue(
    env,
    due.map(({ delivery }) => delivery),
    subrequestBudget(env),
    clock,
    gates.observe,
  )
  const finishedAt = clock.now()
  holdOnPartnerWaits(gates, due, outcomes, finishedAt)
  const paused = await gates.report(finishedAt)
  applyOutcomes(env, due, outcomes, finishedAt, (pair) =>
    gates.pauseOf(pair.source, pair.destination, paused),
  )
  await recordOutcomes(ledger, work, claimId, finishedAt)
  await settleMessages(env, work, clock.now())
}

/**
 * Turns each partner answer into its pair's next state, and notes when its
 * message is due again. A pair whose partner refused our credentials while its
 * destination is (now) paused is parked instead of failed: resuming sends it.
 */
function applyOutcomes(
  env: Bindings,
  due: readonly ClaimedDelivery[],
  outcomes: readonly AttemptOutcome[],
  finishedAt: number,
  pauseOf: (delivery: DueDelivery) => PauseInfo | undefined,
): void {
  due.forEach(({ work: item, previous, delivery }, index) => {
    const outcome = outcomes[index]
    if (!outcome) return
    const retryAfter = 'retryAfterSeconds' in outcome ? outcome.retryAfterSeconds : undefined
    const retryDelayMs = retryDelaySeconds(env, delivery.attempt, retryAfter) * 1000
    const owner = item.claim.owner
    let state = attemptedState(owner, previous ?? undefined, outcome, finishedAt, retryDelayMs)
    if (isAuthRefusal(outcome) && pauseOf(delivery))
      state = pausedState(owner, state, finishedAt, PAUSED_REASON)
    item.states[delivery.destination] = state
    if (needsBody(state)) item.keepBody = true
    if (state.nextAttemptAt !== null) waitFor(item.message, state.nextAttemptAt)
  })
}

/** Pairs source config to each message; a message whose source is gone has nowhere to go. */
function routeMessages(messages: readonly ReadMessage[], config: RouterConfig): MessageWork[] {
  const work: MessageWork[] = []
  for (const read of messages) {
    const { body } = read
    const source = findSourceByName(config, body.source)
    if (!source) {
      logWarn({
        msg: 'source no longer configured; message dropped',
        source: body.source,
        count: body.events.length,
      })
      read.queued.ack()
      continue
    }
    const message: MessageWork = { read, source, events: [], unrecorded: [] }
    for (const event of body.events) {
      const decisions = routeEvent(event, source, body.only)
      const targets = new Map<string, Extract<RoutingDecision, { deliver: unknown }>>()
      for (const decision of decisions) if ('deliver' in decision) targets.set(decision.destination, decision)
      message.events.push({
        message,
        event,
        targets,
        states: {},
        keepBody: false,
        leased: false,
        claim: {
          source: source.name,
          messageId: event.messageId,
          owner: body.ingestId,
          isReplay: body.only !== undefined,
          meta: eventMeta(event),
          routes: decisions.map(routeOf),
        },
      })
    }
    work.push(message)
  }
  return work
}

function waitFor(message: MessageWork, at: number): void {
  message.waitUntil = Math.min(message.waitUntil ?? at, at)
}

interface ClaimedDelivery {
  work: EventWork
  previous: PairState | null
  delivery: DueDelivery
}

/**
 * Asks the ledger which pairs to attempt (one call per shard). Events on a
 * shard that failed are not attempted: their messages are retried with backoff.
 */
async function claimDue(
  ledger: Ledger,
  work: readonly MessageWork[],
  claimId: string,
  now: number,
): Promise<ClaimedDelivery[]> {
  const events = work.flatMap((message) => message.events)
  let claims: Awaited<ReturnType<Ledger['claim']>> = []
  try {
    claims = await ledger.claim({ claimId, now, leaseMs: LEASE_MS, events: events.map((item) => item.claim) })
  } catch {
    // Finding the shards failed (a shard-count raise's look-up): nothing is claimed.
  }
  const due: ClaimedDelivery[] = []
  for (const [index, item] of events.entries()) {
    const claim = claims[index]
    if (!claim) {
      item.message.ownFault = 'ledger_unavailable'
      continue
    }
    if (claim.kind === 'busy') waitFor(item.message, claim.until)
    if (claim.kind !== 'claimed') continue
    if (claim.waitUntil !== null) waitFor(item.message, claim.waitUntil)
    if (claim.due.length > 0) item.leased = true
    Object.assign(item.states, claim.recordWithOutcomes)
    for (const pair of claim.due) {
      const target = item.targets.get(pair.destination)
      if (!target) continue
      due.push({
        work: item,
        previous: pair.previous,
        delivery: {
          source: item.claim.source,
          destination: pair.destination,
          definition: target.deliver.definition,
          config: target.deliver.config,
          // The event as this destination may see it (its field controls applied).
          event: target.event,
          attempt: (pair.previous?.attempts ?? 0) + 1,
        },
      })
    }
  }
  return due
}

/** Why a parked pair waits: its destination is paused. */
const PAUSED_REASON = 'destination_paused'

/**
 * Asks each destination's gate how many of its due pairs may go now (one call
 * per destination, in parallel). A paused destination's pairs are parked in the
 * ledger; pairs held back by a 429 or the rate limit keep their state and their
 * message comes back when the gate says; a gate that cannot be reached holds its
 * pairs back as a fault of our own (never sending past a pause or a limit).
 */
async function passGates(
  gates: GatePass,
  claimed: readonly ClaimedDelivery[],
  now: number,
): Promise<ClaimedDelivery[]> {
  const groups = Map.groupBy(claimed, ({ delivery }) => `${delivery.source}\u0000${delivery.destination}`)
  const answers = await gates.open(
    now,
    [...groups.values()].flatMap(([first, ...rest]) =>
      first
        ? [
            {
              source: first.delivery.source,
              destination: first.delivery.destination,
              config: first.delivery.config,
              want: rest.length + 1,
            },
          ]
        : [],
    ),
  )
  const pass: ClaimedDelivery[] = []
  for (const group of groups.values()) {
    const [first] = group
    if (!first) continue
    const answer: GateAnswer | undefined = gates.answerFor(
      first.delivery.source,
      first.delivery.destination,
      answers,
    )
    group.forEach((claimedPair, index) => {
      const { work: item, previous, delivery } = claimedPair
      if (!answer || 'unavailable' in answer) item.message.ownFault = 'gate_unavailable'
      else if (answer.paused) {
        item.states[delivery.destination] = pausedState(
          item.claim.owner,
          previous ?? undefined,
          now,
          PAUSED_REASON,
        )
        item.keepBody = true
      } else if (index < answer.granted) pass.push(claimedPair)
      else if (answer.retryAt !== null) deferTo(item.message, answer.retryAt)
    })
  }
  return pass
}

function deferTo(message: MessageWork, at: number): void {
  message.deferUntil = Math.min(message.deferUntil ?? at, at)
}

/** Whether a partner refused our credentials (the answers that count towards a pause). */
function isAuthRefusal(outcome: AttemptOutcome): boolean {
  return (
    (outcome.status === 'failed' || outcome.status === 'retry') &&
    (outcome.partnerStatus === 401 || outcome.partnerStatus === 403)
  )
}

/**
 * A partner that asks us to wait (a 429 or Crisp's 420 with Retry-After, a 503
 * with one, Crossing Minds' retry_after) holds its whole destination that long,
 * not only the pair that got the answer. Our own waits (an open circuit, a spent
 * budget) carry no partner status and hold nothing.
 */
function holdOnPartnerWaits(
  gates: GatePass,
  due: readonly ClaimedDelivery[],
  outcomes: readonly AttemptOutcome[],
  finishedAt: number,
): void {
  due.forEach(({ delivery }, index) => {
    const outcome = outcomes[index]
    if (
      outcome?.status !== 'retry' ||
      outcome.partnerStatus === undefined ||
      outcome.retryAfterSeconds === undefined
    )
      return
    gates.hold(delivery.source, delivery.destination, finishedAt + outcome.retryAfterSeconds * 1000)
  })
}

/**
 * Writes every outcome of the batch, one call per shard. What a failing shard
 * did not take is kept on its message, to travel on in a continuation.
 */
async function recordOutcomes(
  ledger: Ledger,
  work: readonly MessageWork[],
  claimId: string,
  now: number,
): Promise<void> {
  // An event leased but given no state (its gate held every pair back) is recorded too: that releases its lease.
  const written = work
    .flatMap((message) => message.events)
    .filter((item) => item.leased || Object.keys(item.states).length > 0)
  if (written.length === 0) return
  logOutcomes(written)
  const records: RecordEvent[] = written.map((item) => ({
    source: item.claim.source,
    messageId: item.claim.messageId,
    owner: item.claim.owner,
    meta: item.claim.meta,
    states: item.states,
    body: item.keepBody ? JSON.stringify(item.event) : null,
  }))
  let failed: Set<string>
  try {
    failed = new Set((await ledger.record({ claimId, now, events: records })).map(keyId))
  } catch {
    failed = new Set(records.map(keyId))
  }
  for (const item of written) {
    if (!failed.has(keyId(item.claim)) || Object.keys(item.states).length === 0) continue
    item.message.unrecorded.push({
      messageId: item.claim.messageId,
      states: item.states,
      keepBody: item.keepBody,
    })
  }
}

/**
 * Acks what is done, retries what waits (until its next attempt) or hit our
 * own fault (with backoff), and replaces a message whose outcomes the ledger
 * did not take by a continuation carrying them.
 */
async function settleMessages(env: Bindings, work: readonly MessageWork[], now: number): Promise<void> {
  for (const message of work) {
    const { queued, body } = message.read
    if (message.unrecorded.length > 0) {
      try {
        await enqueueContinuation(env.DELIVERY_QUEUE, body, message.unrecorded)
        logWarn({
          msg: 'ledger write failed; outcomes carried by a continuation',
          source: body.source,
          count: message.unrecorded.length,
        })
        queued.ack()
      } catch {
        // Both the ledger and the queue failed: the claim's lease keeps the events from being
        // sent again until it expires (docs/storage.md, "Faults": the one double-fault window).
        retryAfterOwnFault(env, [message.read], 'ledger_and_queue_unavailable')
      }
      continue
    }
    if (message.ownFault) retryAfterOwnFault(env, [message.read], message.ownFault)
    else if (message.waitUntil !== undefined) {
      const at = Math.min(message.waitUntil, message.deferUntil ?? message.waitUntil)
      queued.retry({ delaySeconds: queueDelaySeconds((at - now) / 1000) })
    } else if (message.deferUntil !== undefined) await deferMessage(env, message, message.deferUntil - now)
    else queued.ack()
  }
}

/**
 * Sends a message whose only wait is its destination gates' again, as a fresh
 * message: waiting out a pause's resume, a 429 or a rate limit burns none of
 * the queue's retries (max_retries counts partner retries and our own faults).
 */
async function deferMessage(env: Bindings, message: MessageWork, waitMs: number): Promise<void> {
  const { queued, body } = message.read
  const delaySeconds = queueDelaySeconds(waitMs / 1000)
  try {
    await enqueueContinuation(env.DELIVERY_QUEUE, body, [], delaySeconds)
    queued.ack()
  } catch {
    queued.retry({ delaySeconds })
  }
}

/**
 * Workers Logs keeps 256 KB of lines per invocation, and a full batch holds up to
 * 2,000 events: a line for each would be cut off, and would bill a log event for
 * each. Lines go to the events that need attention (a pair failed or retrying),
 * at most this many per batch; the batch's summary line counts the rest.
 */
const MAX_EVENT_LINES = 100

/**
 * One `deliveries` line per batch counting the new states per source,
 * destination and status, and one `delivery` line per event with a failed or
 * retrying pair (every destination's new state). Ids and outcomes only.
 */
function logOutcomes(items: readonly EventWork[]): void {
  const tally: Record<string, Record<string, Record<string, number>>> = {}
  let events = 0
  let attention = 0
  for (const item of items) {
    const states = Object.entries(item.states)
    if (states.length === 0) continue
    events += 1
    const bySource = tally[item.claim.source] ?? {}
    tally[item.claim.source] = bySource
    for (const [destination, state] of states) {
      const counts = bySource[destination] ?? {}
      counts[state.status] = (counts[state.status] ?? 0) + 1
      bySource[destination] = counts
    }
    if (!states.some(([, state]) => state.status === 'failed' || state.status === 'retrying')) continue
    attention += 1
    if (attention > MAX_EVENT_LINES) continue
    const outcomes: Record<string, DestinationOutcomeLog> = {}
    for (const [destination, state] of states)
      outcomes[destination] = {
        status: state.status,
        ...(state.reason && { reason: state.reason }),
        ...(state.partnerStatus && { partnerStatus: state.partnerStatus }),
        attempt: state.attempts,
      }
    logWarn({ msg: 'delivery', source: item.claim.source, messageId: item.claim.messageId, outcomes })
  }
  if (events === 0) return
  logInfo({
    msg: 'deliveries',
    count: events,
    tally,
    ...(attention > MAX_EVENT_LINES && { unlogged: attention - MAX_EVENT_LINES }),
  })
}
