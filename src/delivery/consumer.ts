import type { SourceConfig } from '../config/schema'
import { findSourceByName, loadConfig } from '../config/store'
import type { DeliveryItem, DeliveryOutcome, DestinationDefinition } from '../destinations/types'
import type { Bindings } from '../env'
import { logInfo, logWarn } from '../lib/log'
import type { SegmentEvent } from '../segment/schema'
import { createDeliveryContext } from './context'
import {
  claimPairs,
  type LedgerKey,
  type LedgerRow,
  type LedgerUpdate,
  type LedgerWrites,
  ledgerKey,
  type NewLedgerRow,
  recordOutcomes,
} from './ledger'
import type { DeliveryMessage } from './message'
import { queueDelaySeconds, RETRY_WINDOW_MS, retryDelaySeconds } from './retry-policy'
import { type RoutingDecision, routeEvent } from './routing'

/** One (event, destination) pair of one queue message. */
interface Pair extends LedgerKey {
  message: Message<DeliveryMessage>
  event: SegmentEvent
  decision: RoutingDecision
}

/** A pair this consumer will hand to its destination now. */
interface DueAttempt {
  pair: Pair
  row: LedgerRow
  definition: DestinationDefinition<unknown>
}

/** Identifies first, so a track in the same batch finds the user its identify just created. */
function callOrder(event: SegmentEvent): number {
  return event.type === 'identify' ? 0 : 1
}

function pairsOf(message: Message<DeliveryMessage>, source: SourceConfig): Pair[] {
  return message.body.events.flatMap((event) =>
    routeEvent(event, source, message.body.only).map((decision) => ({
      source: source.name,
      messageId: event.messageId,
      destination: decision.destination,
      message,
      event,
      decision,
    })),
  )
}

/**
 * The queue consumer: routes each event to its source's destinations, claims
 * every (event, destination) pair in the ledger (which dedupes), delivers the
 * due ones per destination in parallel, records every outcome in one D1 batch,
 * and re-queues a message with a delay while any of its pairs is retrying.
 */
export async function consumeDeliveryBatch(
  batch: MessageBatch<DeliveryMessage>,
  env: Bindings,
): Promise<void> {
  const config = await loadConfig(env)
  const now = Date.now()
  const pairs: Pair[] = []
  for (const message of batch.messages) {
    const source = findSourceByName(config, message.body.source)
    if (!source) {
      // The source was removed from the config after the event was accepted: nothing to route to.
      logWarn({ msg: 'source no longer configured; message dropped', source: message.body.source })
      message.ack()
      continue
    }
    pairs.push(...pairsOf(message, source))
  }

  const claims: NewLedgerRow[] = pairs.map((pair) => ({
    source: pair.source,
    messageId: pair.messageId,
    destination: pair.destination,
    ingestId: pair.message.body.ingestId,
    event: pair.event,
    ...('drop' in pair.decision ? { status: 'dropped', reason: pair.decision.drop } : { status: 'pending' }),
  }))
  const { created, rows } = await claimPairs(env.LEDGER, claims, now)

  const writes: LedgerWrites = { updates: [], duplicates: [], undelivered: [] }
  const due: DueAttempt[] = []
  /** Earliest next attempt per message still waiting on a retry. */
  const waiting = new Map<Message<DeliveryMessage>, number>()
  const wait = (message: Message<DeliveryMessage>, at: number) =>
    waiting.set(message, Math.min(waiting.get(message) ?? Number.POSITIVE_INFINITY, at))

  for (const pair of pairs) {
    const key = ledgerKey(pair)
    const row = rows.get(key)
    if (!row) continue
    if (row.ingest_id !== pair.message.body.ingestId) {
      // Someone else owns the row: a client re-sent this messageId (a duplicate, recorded) or,
      // for a replay, another replay took it first (skipped).
      if (!pair.message.body.only && !created.has(key)) writes.duplicates.push(pair)
      continue
    }
    if (row.status === 'delivered' || row.status === 'dropped' || row.status === 'failed') continue
    if (row.status === 'retrying' && row.next_attempt_at !== null && row.next_attempt_at > now) {
      wait(pair.message, row.next_attempt_at)
      continue
    }
    if ('deliver' in pair.decision) due.push({ pair, row, definition: pair.decision.deliver.definition })
  }

  const byDestination = Map.groupBy(due, (attempt) => attempt.pair.destination)
  await Promise.all(
    [...byDestination.values()].map(async (attempts) => {
      attempts.sort((a, b) => callOrder(a.pair.event) - callOrder(b.pair.event))
      const outcomes = await deliverSafely(env, attempts)
      const finishedAt = Date.now()
      attempts.forEach((attempt, index) => {
        const outcome = outcomes[index] ?? missingOutcome
        const update = toLedgerUpdate(env, attempt, outcome, finishedAt)
        writes.updates.push(update)
        if (update.status === 'retrying' && update.nextAttemptAt)
          wait(attempt.pair.message, update.nextAttemptAt)
        if (update.status === 'failed' || update.status === 'dropped') {
          writes.undelivered.push({ source: attempt.pair.source, event: attempt.pair.event })
        }
        logInfo({
          msg: 'delivery',
          source: attempt.pair.source,
          messageId: attempt.pair.messageId,
          destination: attempt.pair.destination,
          status: update.status,
          ...(update.reason && { reason: update.reason }),
          ...(update.partnerStatus && { partnerStatus: update.partnerStatus }),
          attempt: attempt.row.attempts + 1,
        })
      })
    }),
  )

  await recordOutcomes(env.LEDGER, writes, Date.now())
  await sendDeadLetters(env, writes.updates, pairs)

  for (const message of batch.messages) {
    const nextAttemptAt = waiting.get(message)
    if (nextAttemptAt === undefined) message.ack()
    else message.retry({ delaySeconds: queueDelaySeconds((nextAttemptAt - Date.now()) / 1000) })
  }
}

const missingOutcome: DeliveryOutcome = { status: 'retry', error: 'destination_returned_no_outcome' }

/** Calls a destination's `deliver`; a destination bug becomes a retry for its items, never a lost batch. */
async function deliverSafely(env: Bindings, attempts: DueAttempt[]): Promise<DeliveryOutcome[]> {
  const first = attempts[0]
  if (!first || !('deliver' in first.pair.decision)) return []
  const { definition, config } = first.pair.decision.deliver
  const items: DeliveryItem[] = attempts.map((attempt) => ({
    event: attempt.pair.event,
    attempt: attempt.row.attempts + 1,
  }))
  try {
    return await definition.deliver(items, createDeliveryContext(env, first.pair.source, definition, config))
  } catch (error) {
    logWarn({ msg: `destination threw: ${(error as Error).message}`, destination: definition.name })
    return attempts.map(() => ({ status: 'retry', error: 'destination_error' }))
  }
}

/** Turns an outcome into the pair's new ledger state; a retry past the 4 h window fails for good. */
function toLedgerUpdate(
  env: Bindings,
  attempt: DueAttempt,
  outcome: DeliveryOutcome,
  now: number,
): LedgerUpdate {
  const base = {
    source: attempt.pair.source,
    messageId: attempt.pair.messageId,
    destination: attempt.pair.destination,
    ingestId: attempt.row.ingest_id,
    attempted: true,
  }
  switch (outcome.status) {
    case 'delivered':
      return {
        ...base,
        status: 'delivered',
        partnerStatus: outcome.partnerStatus,
        ...(outcome.summary && { summary: outcome.summary }),
      }
    case 'dropped':
      return {
        ...base,
        status: 'dropped',
        reason: outcome.reason,
        ...(outcome.detail && { summary: outcome.detail }),
      }
    case 'failed':
      return {
        ...base,
        status: 'failed',
        reason: outcome.reason,
        ...(outcome.partnerStatus && { partnerStatus: outcome.partnerStatus }),
        ...(outcome.summary && { summary: outcome.summary }),
      }
    case 'retry': {
      const attempts = attempt.row.attempts + 1
      const nextAttemptAt = now + retryDelaySeconds(env, attempts, outcome.retryAfterSeconds) * 1000
      const detail = {
        lastError: outcome.error,
        ...(outcome.partnerStatus && { partnerStatus: outcome.partnerStatus }),
        ...(outcome.summary && { summary: outcome.summary }),
      }
      if (nextAttemptAt - attempt.row.window_started_at > RETRY_WINDOW_MS) {
        return { ...base, ...detail, status: 'failed', reason: `retries_exhausted: ${outcome.error}` }
      }
      return { ...base, ...detail, status: 'retrying', nextAttemptAt }
    }
  }
}

/** Failed pairs also go to the dead-letter queue, for whoever consumes it (the ledger keeps them either way). */
async function sendDeadLetters(env: Bindings, updates: LedgerUpdate[], pairs: Pair[]): Promise<void> {
  const failed = updates.filter((update) => update.status === 'failed')
  if (failed.length === 0) return
  const events = new Map(pairs.map((pair) => [ledgerKey(pair), pair.event]))
  const letters = failed.map((update) => ({
    body: {
      source: update.source,
      destination: update.destination,
      messageId: update.messageId,
      reason: update.reason,
      partnerStatus: update.partnerStatus,
      event: events.get(ledgerKey(update)),
    },
  }))
  try {
    for (let start = 0; start < letters.length; start += 100) {
      await env.DEAD_LETTER_QUEUE.sendBatch(letters.slice(start, start + 100))
    }
  } catch (error) {
    // The ledger already holds the failure (and the event for replay); the DLQ is a copy.
    logWarn({ msg: `dead-letter send failed: ${(error as Error).message}`, count: letters.length })
  }
}
