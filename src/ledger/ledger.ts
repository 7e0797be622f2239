import type { Bindings } from '../env'
import { positiveNumberFromEnv } from '../lib/env-number'
import { decodeCursor, encodeCursor } from './cursor'
import { LedgerShards } from './shards'
import type {
  ClaimEvent,
  ClaimRequest,
  DeadLetterEvent,
  DeliveryFilter,
  EventClaim,
  EventKey,
  LedgerRow,
  ListCursor,
  PairKey,
  RecordEvent,
  RecordRequest,
  ReplayCount,
  ReplayPosition,
  ReplaySelection,
  ReplaySkip,
  ReplayTaken,
  StatsRow,
  TimelineRow,
} from './types'

/** A Durable Object's SQLite storage holds at most 10 GB. */
export const SHARD_LIMIT_BYTES = 10 * 1024 ** 3
/** Share of a shard's limit at which `/admin/stats` and the dashboard warn, unless LEDGER_WARNING_SHARE says otherwise. */
const DEFAULT_WARNING_SHARE = 0.7

export interface Capacity {
  shards: number
  bytes: number
  largestShardBytes: number
  shardLimitBytes: number
  /** Set when the largest shard passed the warning share of its limit: what to do about it. */
  warning: string | null
}

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this API returned')
  }
}

/**
 * The delivery ledger, the one way into it: every read and write of outcomes
 * goes through here, to the shard that holds the event (or to every shard for
 * lists and counts). One instance per consumer invocation or admin request.
 */
export class Ledger {
  readonly #shards: LedgerShards
  readonly #warningShare: number

  constructor(
    env: Pick<Bindings, 'LEDGER' | 'LEDGER_SHARDS' | 'LEDGER_SHARDS_PREVIOUS' | 'LEDGER_WARNING_SHARE'>,
  ) {
    this.#shards = new LedgerShards(env)
    this.#warningShare = positiveNumberFromEnv(env.LEDGER_WARNING_SHARE, DEFAULT_WARNING_SHARE)
  }

  /**
   * Claims a batch's events, one call per shard. The answers are in the order
   * of `request.events`; an event whose shard failed has none (undefined).
   */
  async claim(request: ClaimRequest): Promise<(EventClaim | undefined)[]> {
    const answers: (EventClaim | undefined)[] = request.events.map(() => undefined)
    const indexed = request.events.map((event, index) => ({
      source: event.source,
      messageId: event.messageId,
      index,
    }))
    const groups = await this.#shards.group(indexed)
    await Promise.allSettled(
      [...groups].map(async ([shard, keys]) => {
        const events = keys.map((key) => request.events[key.index] as ClaimEvent)
        const claims = await this.#shards.stub(shard).claim({ ...request, events })
        keys.forEach((key, position) => {
          answers[key.index] = claims[position]
        })
      }),
    )
    return answers
  }

  /**
   * Records outcomes, one call per shard. A shard that fails does not fail the
   * others: the events it did not take are returned, for the caller to carry on.
   */
  async record(request: RecordRequest): Promise<RecordEvent[]> {
    const groups = await this.#shards.group(request.events)
    const results = await Promise.allSettled(
      [...groups].map(([index, events]) => this.#shards.stub(index).record({ ...request, events })),
    )
    return [...groups.values()].flatMap((events, position) =>
      results[position]?.status === 'fulfilled' ? [] : events,
    )
  }

  /** Records what a dead-lettered message held; returns the pairs that failed with it. */
  async deadLetter(now: number, events: DeadLetterEvent[]): Promise<number> {
    const groups = await this.#shards.group(events)
    const counts = await Promise.all(
      [...groups].map(([index, group]) => this.#shards.stub(index).deadLetter(now, group)),
    )
    return counts.reduce((sum, count) => sum + count, 0)
  }

  /** Every pair of these events. */
  async lookup(keys: EventKey[]): Promise<LedgerRow[]> {
    const groups = await this.#shards.group(keys)
    const rows = await Promise.all(
      [...groups].map(([index, group]) => this.#shards.stub(index).lookup(group)),
    )
    return rows.flat()
  }

  /**
   * One page of pairs, newest events first. Each shard returns its first
   * `limit + 1` after the cursor; the merge keeps the global order, so a cursor
   * taken from the last row resumes every shard exactly where it stopped.
   */
  async list(
    filter: DeliveryFilter,
    limit: number,
    cursorText?: string,
  ): Promise<{ deliveries: LedgerRow[]; nextCursor: string | null }> {
    let cursor: ListCursor | null = null
    if (cursorText !== undefined) {
      cursor = decodeCursor(cursorText) ?? null
      if (!cursor) throw new InvalidCursorError()
    }
    const shards =
      filter.source !== undefined && filter.messageId !== undefined
        ? [...(await this.#shards.group([{ source: filter.source, messageId: filter.messageId }])).keys()]
        : this.#shards.all()
    const pages = await Promise.all(
      shards.map((index) => this.#shards.stub(index).list(filter, limit + 1, cursor)),
    )
    const merged = pages.flat().sort(compareListOrder)
    const page = merged.slice(0, limit)
    const last = page.at(-1)
    const nextCursor =
      merged.length > limit && last
        ? encodeCursor({
            recordedUs: last.recorded_us,
            source: last.source,
            messageId: last.message_id,
            destination: last.destination,
          })
        : null
    return { deliveries: page, nextCursor }
  }

  /** Counts per destination × status × reason, summed from every shard's rollups. */
  async stats(window: { since: number; until: number; source?: string }): Promise<StatsRow[]> {
    const perShard = await Promise.all(
      this.#shards
        .all()
        .map((index) => this.#shards.stub(index).stats(window.since, window.until, window.source)),
    )
    return sumCounts(perShard.flat(), (row) => [row.destination, row.status, row.reason ?? '']).sort(
      (a, b) =>
        a.destination.localeCompare(b.destination) ||
        a.status.localeCompare(b.status) ||
        (a.reason ?? '').localeCompare(b.reason ?? ''),
    )
  }

  /** Counts per destination × status × chart bar, summed from every shard's rollups. */
  async timeline(window: {
    since: number
    until: number
    bucketMs: number
    source?: string
  }): Promise<TimelineRow[]> {
    const perShard = await Promise.all(
      this.#shards
        .all()
        .map((index) =>
          this.#shards.stub(index).timeline(window.since, window.until, window.bucketMs, window.source),
        ),
    )
    return sumCounts(perShard.flat(), (row) => [row.destination, row.status, row.bucket])
  }

  /**
   * Takes up to `limit` pairs for a replay: each is retrying under `replayId`
   * until replayed. Exact pairs go to the shard of each. A filter takes the
   * globally oldest candidates after `selection.after` (every shard's oldest
   * `limit`, merged, the first `limit` kept), so a paged replay resends in
   * original order across shards; `last` is where this page stopped, taken or skipped,
   * and `candidates` how many pairs the page looked at (fewer than `limit`: nothing follows).
   */
  async takeForReplay(
    selection: ReplaySelection,
    limit: number,
    replayId: string,
    now: number,
  ): Promise<{
    taken: ReplayTaken[]
    skipped: ReplaySkip[]
    last: ReplayPosition | null
    candidates: number
  }> {
    let pairs = selection.pairs?.slice(0, limit)
    let last: ReplayPosition | null = null
    if (!pairs) {
      const perShard = await Promise.all(
        this.#shards.all().map((index) => this.#shards.stub(index).replayCandidates(selection, limit)),
      )
      const page = perShard.flat().sort(compareReplayOrder).slice(0, limit)
      last = page.at(-1) ?? null
      pairs = page.map(({ source, messageId, destination }) => ({ source, messageId, destination }))
    }
    const groups = [...(await this.#shards.group(pairs))]
    const results = await Promise.allSettled(
      groups.map(([index, group]) =>
        this.#shards
          .stub(index)
          .takeForReplay({ pairs: group, statuses: selection.statuses }, group.length, replayId, now),
      ),
    )
    const taken = results.flatMap((result) => (result.status === 'fulfilled' ? result.value.taken : []))
    const failure = results.find((result) => result.status === 'rejected')
    if (failure) {
      // All or nothing: a shard that failed must not leave the others' pairs held by a replay never queued.
      await this.releaseReplay(taken, replayId, now)
      throw failure.reason
    }
    const skipped = results.flatMap((result) => (result.status === 'fulfilled' ? result.value.skipped : []))
    const order = new Map(pairs.map((pair, position) => [pairId(pair), position]))
    const byOrder = (a: PairKey, b: PairKey) => (order.get(pairId(a)) ?? 0) - (order.get(pairId(b)) ?? 0)
    return { taken: taken.sort(byOrder), skipped: skipped.sort(byOrder), last, candidates: pairs.length }
  }

  /** Per destination, how many pairs a replay of `selection` would resend and how many it cannot. */
  async countReplayable(selection: Omit<ReplaySelection, 'after'>): Promise<ReplayCount[]> {
    const targets: [number, ReplaySelection][] = selection.pairs
      ? [...(await this.#shards.group(selection.pairs))].map(([index, pairs]) => [
          index,
          { ...selection, pairs },
        ])
      : this.#shards.all().map((index) => [index, selection])
    const perShard = await Promise.all(
      targets.map(([index, part]) => this.#shards.stub(index).countReplayable(part)),
    )
    const sums = new Map<string, ReplayCount>()
    for (const count of perShard.flat()) {
      const sum = sums.get(count.destination) ?? { destination: count.destination, replayable: 0, notKept: 0 }
      sum.replayable += count.replayable
      sum.notKept += count.notKept
      sums.set(count.destination, sum)
    }
    return [...sums.values()].sort((a, b) => compareText(a.destination, b.destination))
  }

  async releaseReplay(taken: ReplayTaken[], replayId: string, now: number): Promise<void> {
    const groups = await this.#shards.group(taken)
    await Promise.all(
      [...groups].map(([index, group]) => this.#shards.stub(index).releaseReplay(group, replayId, now)),
    )
  }

  /** Storage used per shard against the 10 GB each may hold. */
  async capacity(): Promise<Capacity> {
    const sizes = await Promise.all(this.#shards.all().map((index) => this.#shards.stub(index).size()))
    const largest = Math.max(0, ...sizes)
    const warning =
      largest >= SHARD_LIMIT_BYTES * this.#warningShare
        ? `the largest shard holds ${Math.round((largest / SHARD_LIMIT_BYTES) * 100)} % of its 10 GB: ` +
          'raise LEDGER_SHARDS or shorten LEDGER_RETENTION_DAYS (docs/capacity.md)'
        : null
    return {
      shards: sizes.length,
      bytes: sizes.reduce((sum, size) => sum + size, 0),
      largestShardBytes: largest,
      shardLimitBytes: SHARD_LIMIT_BYTES,
      warning,
    }
  }
}

/** Adds up rows from every shard that count the same thing (same `keyOf`). */
function sumCounts<R extends { count: number }>(
  rows: readonly R[],
  keyOf: (row: R) => (string | number)[],
): R[] {
  const sums = new Map<string, R>()
  for (const row of rows) {
    const id = keyOf(row).join('\u0000')
    const sum = sums.get(id)
    if (sum) sum.count += row.count
    else sums.set(id, { ...row })
  }
  return [...sums.values()]
}

/** The list's order: latest change first, then source, messageId and destination, all descending. */
function compareListOrder(a: LedgerRow, b: LedgerRow): number {
  return (
    b.recorded_us - a.recorded_us ||
    compareText(b.source, a.source) ||
    compareText(b.message_id, a.message_id) ||
    compareText(b.destination, a.destination)
  )
}

/** A replay's order: oldest event first (`created_at`), then source, messageId and destination. */
function compareReplayOrder(a: ReplayPosition, b: ReplayPosition): number {
  return (
    a.createdAt - b.createdAt ||
    compareText(a.source, b.source) ||
    compareText(a.messageId, b.messageId) ||
    compareText(a.destination, b.destination)
  )
}

function pairId(pair: PairKey): string {
  return `${pair.source}\u0000${pair.messageId}\u0000${pair.destination}`
}

/**
 * SQLite's order for text: its UTF-8 bytes, which is code point order. JavaScript's
 * `<` compares UTF-16 units and disagrees for characters past U+FFFF (and localeCompare
 * everywhere), which would let a cursor skip or repeat rows between shards.
 */
function compareText(a: string, b: string): number {
  for (let index = 0; index < a.length && index < b.length; index += 1) {
    const left = a.codePointAt(index) ?? 0
    const right = b.codePointAt(index) ?? 0
    if (left !== right) return left - right
    if (left > 0xffff) index += 1
  }
  return a.length - b.length
}
