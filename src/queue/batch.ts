import type { RouterConfig } from '../config/schema'
import { loadConfig } from '../config/store'
import { infrastructureRetryDelaySeconds } from '../delivery/retry-policy'
import type { Bindings } from '../env'
import { eventMeta } from '../ledger/event-meta'
import { Ledger } from '../ledger/ledger'
import type { RecordEvent } from '../ledger/types'
import type { Clock } from '../lib/clock'
import { logWarn } from '../lib/log'
import { type DeliveryMessage, type QueuedDeliveryMessage, readDeliveryMessage } from './message'

/** A queue message with its body read once. */
export interface ReadMessage {
  queued: Message<QueuedDeliveryMessage>
  body: DeliveryMessage
}

/**
 * Reads every message's body. A body that is not a DeliveryMessage was never
 * sent by the router: it is logged by queue message id and acknowledged.
 */
export function readBatch(batch: MessageBatch<QueuedDeliveryMessage>): ReadMessage[] {
  const read: ReadMessage[] = []
  for (const queued of batch.messages) {
    try {
      const body = readDeliveryMessage(queued.body)
      if (typeof body?.source !== 'string' || !Array.isArray(body.events))
        throw new Error('not a delivery message')
      read.push({ queued, body })
    } catch {
      logWarn({ msg: `unreadable queue message ${queued.id} acknowledged`, reason: 'unreadable_message' })
      queued.ack()
    }
  }
  return read
}

/** Our own storage or queue failed for these messages: try them again later, with growing waits. */
export function retryAfterOwnFault(env: Bindings, messages: readonly ReadMessage[], reason: string): void {
  if (messages.length === 0) return
  logWarn({ msg: 'infrastructure fault; messages retried with backoff', reason, count: messages.length })
  for (const { queued } of messages)
    queued.retry({ delaySeconds: infrastructureRetryDelaySeconds(env, queued.attempts) })
}

/** The record a continuation carries for its events, as the ledger takes it. */
export function carriedRecords(message: DeliveryMessage): RecordEvent[] {
  const events = new Map(message.events.map((event) => [event.messageId, event]))
  return (message.recorded ?? []).flatMap((outcome) => {
    const event = events.get(outcome.messageId)
    if (!event) return []
    return [
      {
        source: message.source,
        messageId: outcome.messageId,
        owner: message.ingestId,
        meta: eventMeta(event),
        states: outcome.states,
        body: outcome.keepBody ? JSON.stringify(event) : null,
      },
    ]
  })
}

/**
 * Writes what continuations carry before anything else happens to them.
 * Returns the messages ready to go on; those whose outcomes the ledger did not
 * take are retried with backoff (nothing is sent for them meanwhile).
 */
export async function recordCarried(
  env: Bindings,
  ledger: Ledger,
  messages: readonly ReadMessage[],
  now: number,
): Promise<ReadMessage[]> {
  const carrying = messages.filter((message) => (message.body.recorded?.length ?? 0) > 0)
  if (carrying.length === 0) return [...messages]
  const events = carrying.flatMap((message) => carriedRecords(message.body))
  let unrecorded: Set<string>
  try {
    const failed = await ledger.record({ claimId: null, now, events })
    unrecorded = new Set(failed.map((event) => `${event.source}\u0000${event.messageId}`))
  } catch {
    unrecorded = new Set(events.map((event) => `${event.source}\u0000${event.messageId}`))
  }
  const blocked = carrying.filter((message) =>
    (message.body.recorded ?? []).some((outcome) =>
      unrecorded.has(`${message.body.source}\u0000${outcome.messageId}`),
    ),
  )
  retryAfterOwnFault(env, blocked, 'ledger_unavailable')
  return messages.filter((message) => !blocked.includes(message))
}

/** What a consumer works with once a batch is opened. */
export interface OpenedBatch {
  /** Messages ready to go on: read, and whatever they carried recorded. */
  ready: ReadMessage[]
  config: RouterConfig
  ledger: Ledger
}

/**
 * How both consumers start: read the bodies, load the config, write what
 * continuations carry. Undefined when the config cannot be had (KV failing):
 * the whole batch is then retried with backoff.
 */
export async function openBatch(
  batch: MessageBatch<QueuedDeliveryMessage>,
  env: Bindings,
  clock: Clock,
): Promise<OpenedBatch | undefined> {
  const read = readBatch(batch)
  let config: RouterConfig
  try {
    config = await loadConfig(env)
  } catch {
    retryAfterOwnFault(env, read, 'config_unavailable')
    return undefined
  }
  const ledger = new Ledger(env)
  return { ready: await recordCarried(env, ledger, read, clock.now()), config, ledger }
}
