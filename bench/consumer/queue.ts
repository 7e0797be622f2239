/**
 * The delivery queue, as the platform hands it to a consumer: batches of up to
 * `max_batch_size` messages (wrangler.toml) taken from the backlog in order, one
 * batch at a time (as `wrangler dev`'s local queue does), each a MessageBatch
 * with the Workers interface. Per message, the first of ack()/retry() wins, then
 * ackAll()/retryAll(); a message with neither is acked when the handler returns
 * and retried when it throws. A retried message comes back after its
 * delaySeconds, its `attempts` raised; past `max_retries` it goes to the dead
 * letters (counted here). A body is kept as the producer's contentType makes the
 * queue keep it, and read back the same way for each delivery: `text` as the
 * string, `json` parsed from its JSON text, `v8` (the default) a structured clone.
 */

export type StoredBody = { text: string } | { json: string } | { v8: unknown }

/** What a producer's `send(body, { contentType })` leaves in the queue. */
export function storedBody(body: unknown, contentType: QueueContentType | undefined): StoredBody {
  if (contentType === 'text') {
    if (typeof body !== 'string') throw new TypeError('a text message body must be a string')
    return { text: body }
  }
  if (contentType === 'json') return { json: JSON.stringify(body) }
  if (contentType === undefined || contentType === 'v8') return { v8: structuredClone(body) }
  throw new Error(`contentType ${contentType} is not supported here`)
}

function readBody(stored: StoredBody): unknown {
  if ('text' in stored) return stored.text
  if ('json' in stored) return JSON.parse(stored.json)
  return structuredClone(stored.v8)
}

function bodyBytes(stored: StoredBody): number {
  if ('text' in stored) return Buffer.byteLength(stored.text)
  if ('json' in stored) return Buffer.byteLength(stored.json)
  return 0
}

interface Queued {
  id: string
  body: StoredBody
  attempts: number
  timestamp: Date
  availableAt: number
}

export interface QueueStats {
  batches: number
  /** Messages handed to the consumer (a retried message counts again). */
  deliveries: number
  acked: number
  retried: number
  /** Neither acked nor retried by the consumer; acked because the handler returned. */
  implicitAcks: number
  consumerErrors: number
  deadLettered: number
  /** The delays asked for, in seconds, per retry. */
  retryDelays: number[]
  largestBatch: number
  errors: string[]
}

export function emptyStats(): QueueStats {
  return {
    batches: 0,
    deliveries: 0,
    acked: 0,
    retried: 0,
    implicitAcks: 0,
    consumerErrors: 0,
    deadLettered: 0,
    retryDelays: [],
    largestBatch: 0,
    errors: [],
  }
}

type Decision = { ack: true } | { ack: false; delaySeconds: number }

export class LocalQueue<Body> {
  readonly #consume: (batch: MessageBatch<Body>) => Promise<void>
  readonly #name: string
  readonly #maxBatchSize: number
  readonly #maxRetries: number
  #backlog: Queued[] = []
  #sequence = 0
  stats = emptyStats()

  constructor(
    consume: (batch: MessageBatch<Body>) => Promise<void>,
    options: { name: string; maxBatchSize: number; maxRetries: number },
  ) {
    this.#consume = consume
    this.#name = options.name
    this.#maxBatchSize = options.maxBatchSize
    this.#maxRetries = options.maxRetries
  }

  /** Message bodies as the producer's send/sendBatch stored them. */
  push(bodies: readonly StoredBody[]): void {
    const now = Date.now()
    for (const body of bodies) {
      this.#sequence += 1
      this.#backlog.push({
        id: `m${this.#sequence.toString(36)}`,
        body,
        attempts: 1,
        timestamp: new Date(now),
        availableAt: now,
      })
    }
  }

  get size(): number {
    return this.#backlog.length
  }

  /** Delivers until no message is left (retried messages wait for their delay). */
  async drain(): Promise<void> {
    while (this.#backlog.length > 0) {
      const now = Date.now()
      const ready: Queued[] = []
      const later: Queued[] = []
      for (const item of this.#backlog) {
        if (item.availableAt <= now && ready.length < this.#maxBatchSize) ready.push(item)
        else later.push(item)
      }
      if (ready.length === 0) {
        const next = Math.min(...later.map((item) => item.availableAt))
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, next - now)))
        continue
      }
      this.#backlog = later
      await this.#deliver(ready)
    }
  }

  async #deliver(items: Queued[]): Promise<void> {
    const decisions = new Map<string, Decision>()
    let all: Decision | undefined
    const messages: Message<Body>[] = items.map((item) => ({
      id: item.id,
      timestamp: item.timestamp,
      attempts: item.attempts,
      body: readBody(item.body) as Body,
      ack: () => {
        if (!decisions.has(item.id)) decisions.set(item.id, { ack: true })
      },
      retry: (options?: QueueRetryOptions) => {
        if (!decisions.has(item.id))
          decisions.set(item.id, { ack: false, delaySeconds: options?.delaySeconds ?? 0 })
      },
    }))
    const backlog = this.#backlog
    const batch: MessageBatch<Body> = {
      queue: this.#name,
      metadata: {
        metrics: {
          backlogCount: backlog.length,
          backlogBytes: backlog.reduce((sum, item) => sum + bodyBytes(item.body), 0),
          ...(backlog[0] && { oldestMessageTimestamp: backlog[0].timestamp }),
        },
      },
      messages,
      ackAll: () => {
        all ??= { ack: true }
      },
      retryAll: (options?: QueueRetryOptions) => {
        all ??= { ack: false, delaySeconds: options?.delaySeconds ?? 0 }
      },
    }
    this.stats.batches += 1
    this.stats.deliveries += items.length
    this.stats.largestBatch = Math.max(this.stats.largestBatch, items.length)
    let threw = false
    try {
      await this.#consume(batch)
    } catch (error) {
      threw = true
      this.stats.consumerErrors += 1
      if (this.stats.errors.length < 10) this.stats.errors.push(String((error as Error)?.stack ?? error))
    }
    const now = Date.now()
    for (const item of items) {
      const explicit = decisions.get(item.id) ?? all
      const decision: Decision = explicit ?? (threw ? { ack: false, delaySeconds: 0 } : { ack: true })
      if (!explicit && !threw) this.stats.implicitAcks += 1
      if (decision.ack) {
        this.stats.acked += 1
        continue
      }
      this.stats.retried += 1
      this.stats.retryDelays.push(decision.delaySeconds)
      if (item.attempts > this.#maxRetries) {
        this.stats.deadLettered += 1
        continue
      }
      this.#backlog.push({
        ...item,
        attempts: item.attempts + 1,
        availableAt: now + decision.delaySeconds * 1000,
      })
    }
  }
}
