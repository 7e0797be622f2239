import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { vi } from 'vitest'
import type { Bindings } from '../../src/env'
import worker from '../../src/index'
import { Ledger } from '../../src/ledger/ledger'
import { LedgerShards } from '../../src/ledger/shards'
import type { LedgerRow } from '../../src/ledger/types'
import { type Clock, ManualClock, systemClock } from '../../src/lib/clock'
import { createQueueHandler } from '../../src/queue/handler'
import type { QueuedDeliveryMessage } from '../../src/queue/message'
import { identifyEvent, messageId } from './events'

export type { LedgerRow }

/** Every pair of events with these messageIds, read through the ledger (all shards), by messageId then destination. */
export async function readDeliveries(messageIds: string[]): Promise<LedgerRow[]> {
  const ledger = new Ledger(env)
  const pages = await Promise.all(messageIds.map((messageId) => ledger.list({ messageId }, 500)))
  return pages
    .flatMap((page) => page.deliveries)
    .sort((a, b) => a.message_id.localeCompare(b.message_id) || a.destination.localeCompare(b.destination))
}

/** A new messageId (see `messageId`) whose event the ledger keeps on the same shard as `sibling`'s. */
export async function messageIdOnShardOf(source: string, sibling: string, label: string): Promise<string> {
  const shards = new LedgerShards(env)
  const shardOf = async (id: string) => [...(await shards.group([{ source, messageId: id }])).keys()][0]
  const wanted = await shardOf(sibling)
  for (;;) {
    const id = messageId(label)
    if ((await shardOf(id)) === wanted) return id
  }
}

/** The pair of an event at `destination` (or its first pair), if the ledger has it. */
export async function readDelivery(messageId: string, destination?: string): Promise<LedgerRow | undefined> {
  const rows = await readDeliveries([messageId])
  return rows.find((row) => destination === undefined || row.destination === destination)
}

const SETTLED = new Set(['delivered', 'dropped', 'failed'])

export interface WaitOptions {
  /** Rows expected (one per routed destination); waits until that many have settled. */
  rows: number
  /** Also accept rows in these statuses as settled (e.g. 'retrying' when a test expects a retry). */
  alsoSettled?: LedgerRow['status'][]
  timeoutMs?: number
}

/**
 * Polls the real ledger until the events with these messageIds have the
 * expected number of settled rows, then returns all their rows.
 */
export async function waitForLedger(messageIds: string[], options: WaitOptions): Promise<LedgerRow[]> {
  const settled = new Set([...SETTLED, ...(options.alsoSettled ?? [])])
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  for (;;) {
    const results = await readDeliveries(messageIds)
    const done = results.filter((row) => settled.has(row.status)).length
    if (done >= options.rows) return results
    if (Date.now() > deadline) {
      throw new Error(
        `ledger did not settle: ${JSON.stringify(results.map((r) => [r.message_id, r.destination, r.status]))}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export interface ConsumeOptions {
  /** The queue's count of deliveries of each message, this one included. */
  attempts?: number
  form?: 'text' | 'json'
  /** Bindings replaced for this call: a smaller SUBREQUEST_BUDGET, a failing LEDGER. */
  vars?: Partial<Bindings>
  /** The consumer's clock; the Worker's own (system time) unless a test moves time. */
  clock?: Clock
  /** The queue the batch comes from: the delivery queue, or its dead-letter queue. */
  queue?: string
}

/**
 * Runs the real queue handler on messages delivered together in one batch, as
 * the queue would. A DeliveryMessage goes in the form enqueueEvents sends, its
 * JSON text, unless `form` is `json`: the object itself, as messages were sent
 * before (still in a queue after an upgrade). The test batch does not report
 * retry delays, so each message's `retry` is watched: `delaySeconds[i]` is
 * message i's delay, if retried.
 */
export async function consume(
  messages: QueuedDeliveryMessage | QueuedDeliveryMessage[],
  options: ConsumeOptions = {},
) {
  const {
    attempts = 1,
    form = 'text',
    vars = {},
    clock = systemClock,
    queue = 'segment-router-deliveries',
  } = options
  const bodies = (Array.isArray(messages) ? messages : [messages]).map((body) =>
    typeof body === 'string' || form === 'json' ? body : JSON.stringify(body),
  )
  const batch = createMessageBatch<QueuedDeliveryMessage>(
    queue,
    bodies.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts, body })),
  )
  const retries = batch.messages.map((message) => vi.spyOn(message, 'retry'))
  const ctx = createExecutionContext()
  const handler = clock === systemClock ? worker.queue : createQueueHandler(clock)
  await handler(batch, { ...env, ...vars })
  const result = await getQueueResult(batch, ctx)
  const delays = retries.map((retry) => retry.mock.calls[0]?.[0]?.delaySeconds)
  return { ...result, delaySeconds: delays[0], delays }
}

/** Consumes one message (a new request) of identifies for `ids` from `source`, its clock at `at`. */
export function consumeIdentifiesAt(source: string, at: number, ids: string[]) {
  return consume(
    { source, ingestId: crypto.randomUUID(), events: ids.map((id) => identifyEvent(id)) },
    { clock: new ManualClock(at) },
  )
}
