import { DurableObject } from 'cloudflare:workers'
import type { Bindings } from '../env'
import { type Clock, systemClock } from '../lib/clock'
import { deflateText, inflateText } from '../lib/deflate'
import { positiveNumberFromEnv } from '../lib/env-number'
import { logWarn } from '../lib/log'
import { applyMigrations } from '../lib/sqlite-migrations'
import { Partitions } from './partitions'
import { deliveriesOf, ROLLUP_BUCKET_MS, SHARD_MIGRATIONS } from './schema'
import {
  abandonedState,
  decidePair,
  droppedState,
  isTerminal,
  type LedgerStatus,
  type PairState,
  REPLAYABLE_STATUSES,
  replayedState,
} from './state'
import { loadPair, type StoredPair, storePair } from './stored'
import type {
  ClaimEvent,
  ClaimRequest,
  DeadLetterEvent,
  DeliveryFilter,
  EventClaim,
  EventKey,
  EventMeta,
  LedgerRow,
  ListCursor,
  PairKey,
  RecordRequest,
  ReplayCount,
  ReplayPosition,
  ReplaySelection,
  ReplaySkip,
  ReplayTaken,
  StatsRow,
  TimelineRow,
} from './types'

interface EventRow extends Record<string, SqlStorageValue> {
  /** The suffix of the partition holding it. */
  part: string
  source: string
  message_id: string
  ingest_id: string
  destinations: string
  updated_at: number
  recorded_us: number
  has_body: number
  duplicates: number
  unsettled: number
}

/** The columns of an {@link EventRow} in partition `suffix`. */
function eventColumns(suffix: string): string {
  return `'${suffix}' AS part, source, message_id, ingest_id, json(destinations) AS destinations, updated_at,
    recorded_us, body IS NOT NULL AS has_body, duplicates, unsettled`
}

/** Every column of an events table, in their order: a row moving to a later partition copies them. */
const STORED_COLUMNS = `source, message_id, ingest_id, event_type, event_name, user_id, destinations, body,
  body_kept_at, duplicates, created_at, updated_at, unsettled, recorded_us`

/** The pairs of a stored event, as states. */
type Pairs = Record<string, PairState>

/** A claim's hold on an event while its partner calls run: held in memory, never written. */
interface Lease {
  claimId: string
  owner: string
  isReplay: boolean
  until: number
  /** Copies of the messageId seen while the event had no row yet; written with its first record. */
  duplicates: number
}

/** Orphans failed and bodies cleared per alarm run (events go a partition at a time), so a purge never holds the shard for long. */
const PURGE_BATCH = 500
const PURGE_INTERVAL_MS = 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000

function leaseKey(key: EventKey): string {
  return `${key.source}\u0000${key.messageId}`
}

/** A rollup count's key: `[source, destination, status, reason]` as JSON text (`reason` '' when none). */
type RollupKey = string

function rollupKey(source: string, destination: string, status: string, reason: string | null): RollupKey {
  return JSON.stringify([source, destination, status, reason ?? ''])
}

/**
 * What one transaction writes besides event rows, together at its end: the
 * rollup counts it moves and the `changes` row naming the events it changed.
 *
 * Rollups: a pair leaving a (bucket, status, reason) counts -1 there, +1 where it
 * lands. Each bucket's counts are one row, so a write costs one row per bucket it
 * touches, not one per destination × status × reason: at a few events per call
 * (a low steady rate) that is most of the ledger's rows written.
 *
 * Changes: the deliveries list walks `changes` newest first; a time index on
 * `events` instead would cost a row written per event and per change.
 */
class ShardWrites {
  readonly #deltas = new Map<number, Map<RollupKey, number>>()
  readonly #changed = new Map<string, [source: string, messageId: string]>()
  #change: { recordedUs: number; part: string } | undefined

  constructor(
    private readonly sql: SqlStorage,
    private readonly partitions: Partitions,
    /** The transaction's time (epoch ms), never before a pair state it writes. */
    private readonly now: number,
  ) {}

  /**
   * Notes that `key`'s row changes and returns the transaction's change: its position
   * in `changes` (epoch µs, after every earlier change of this shard, so positions are
   * unique and in order even when clocks repeat or step back) and its partition, where the row goes.
   */
  change(key: EventKey): { recordedUs: number; part: string } {
    this.#changed.set(leaseKey(key), [key.source, key.messageId])
    if (this.#change === undefined) {
      const recordedUs = Math.max(this.now * 1000, this.partitions.lastRecordedUs() + 1)
      this.#change = { recordedUs, part: this.partitions.forChange(recordedUs) }
    }
    return this.#change
  }

  /** Adds `delta` pairs to a rollup count (a dropped partition takes its pairs out). */
  count(bucket: number, key: RollupKey, delta: number): void {
    const deltas = this.#deltas.get(bucket) ?? new Map<RollupKey, number>()
    deltas.set(key, (deltas.get(key) ?? 0) + delta)
    this.#deltas.set(bucket, deltas)
  }

  move(source: string, destination: string, from: PairState | undefined, to: PairState | undefined): void {
    if (from) this.add(source, destination, from, -1)
    if (to) this.add(source, destination, to, 1)
  }

  private add(source: string, destination: string, state: PairState, delta: number): void {
    const key = rollupKey(source, destination, state.status, state.reason)
    this.count(Math.floor(state.updatedAt / ROLLUP_BUCKET_MS), key, delta)
  }

  write(): void {
    const sql = this.sql
    if (this.#change !== undefined)
      sql.exec(
        `INSERT INTO changes${this.#change.part} (recorded_us, keys) VALUES (?, jsonb(?))`,
        this.#change.recordedUs,
        JSON.stringify([...this.#changed.values()]),
      )
    for (const [bucket, deltas] of this.#deltas) {
      if ([...deltas.values()].every((delta) => delta === 0)) continue
      const stored = sql
        .exec<{ counts: string }>('SELECT json(counts) AS counts FROM rollups WHERE bucket = ?', bucket)
        .toArray()[0]
      const counts = stored ? (JSON.parse(stored.counts) as Record<RollupKey, number>) : {}
      for (const [key, delta] of deltas) {
        const count = (counts[key] ?? 0) + delta
        if (count === 0) delete counts[key]
        else counts[key] = count
      }
      if (Object.keys(counts).length === 0) sql.exec('DELETE FROM rollups WHERE bucket = ?', bucket)
      else
        sql.exec(
          'INSERT INTO rollups (bucket, counts) VALUES (?, jsonb(?)) ON CONFLICT DO UPDATE SET counts = excluded.counts',
          bucket,
          JSON.stringify(counts),
        )
    }
  }
}

/** Rollup counts of buckets [first, end) (of one source), one row per bucket × key; binds first, end[, source]. */
function rollupCounts(source: string | undefined): string {
  return `SELECT r.bucket, c.key ->> '$[1]' AS destination, c.key ->> '$[2]' AS status,
      c.key ->> '$[3]' AS reason, c.value AS count
    FROM rollups AS r, json_each(r.counts) AS c
    WHERE r.bucket >= ? AND r.bucket < ? ${source === undefined ? '' : "AND c.key ->> '$[0]' = ?"}`
}

/**
 * `WHERE` conditions over the `deliveries` view (columns of `alias`, when the
 * view is joined); every value is bound, never interpolated.
 */
function filterConditions(filter: DeliveryFilter, alias = ''): { sql: string[]; params: SqlStorageValue[] } {
  const column = (name: string) => (alias ? `${alias}.${name}` : name)
  const sql: string[] = []
  const params: SqlStorageValue[] = []
  const equal = (name: string, value: string | undefined) => {
    if (value === undefined) return
    sql.push(`${column(name)} = ?`)
    params.push(value)
  }
  equal('source', filter.source)
  equal('message_id', filter.messageId)
  equal('user_id', filter.userId)
  equal('destination', filter.destination)
  equal('status', filter.status)
  equal('reason', filter.reason)
  if (filter.search !== undefined) {
    sql.push(`(${column('message_id')} = ? OR ${column('user_id')} = ?)`)
    params.push(filter.search, filter.search)
  }
  if (filter.since !== undefined) {
    sql.push(`${column('updated_at')} >= ?`)
    params.push(filter.since)
  }
  if (filter.until !== undefined) {
    sql.push(`${column('updated_at')} < ?`)
    params.push(filter.until)
  }
  return { sql, params }
}

function where(conditions: string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''
}

/**
 * One shard of the delivery ledger: a Durable Object with its own SQLite
 * database, the single writer of the events hashed to it (src/ledger/shards.ts).
 * Each method is one call from the consumer or the admin side and runs as one
 * transaction. docs/storage.md describes the tables; docs/capacity.md the sizing.
 */
export class LedgerShard extends DurableObject<Bindings> {
  private readonly sql: SqlStorage
  private readonly leases = new Map<string, Lease>()
  private alarmChecked = false
  /** Retention's time (its alarm has no request to bring one); calls from the consumer and admin pass theirs. */
  private readonly clock: Clock = systemClock
  private readonly partitions: Partitions

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    applyMigrations(ctx.storage, SHARD_MIGRATIONS)
    // About ten partitions in a retention period: a lookup probes each, a drop waits for the last change in one.
    this.partitions = new Partitions(this.sql, Math.max(1, Math.ceil(this.retentionDays() / 10)))
  }

  /** One transaction; when it fails, what it did to the partitions is undone, so they are read again. */
  private transaction<T>(body: () => T): T {
    try {
      return this.ctx.storage.transactionSync(body)
    } catch (error) {
      this.partitions.forget()
      throw error
    }
  }

  private retentionDays(): number {
    return positiveNumberFromEnv(this.env.LEDGER_RETENTION_DAYS, 30)
  }

  /**
   * Decides, for each event, which pairs the consumer attempts now. Due pairs are
   * only leased (in memory) until their outcome is recorded, so a concurrent copy
   * of the same messageId is told it is a duplicate (another owner) or busy (the
   * same owner, e.g. a replay racing). Routing drops are written here when the
   * event has nothing to attempt, else handed back to be recorded with the outcomes.
   */
  async claim(request: ClaimRequest): Promise<EventClaim[]> {
    await this.scheduleRetention()
    const taken = new Map<string, Lease>()
    const seen = new Set<string>()
    const claims = this.transaction(() => {
      const writes = new ShardWrites(this.sql, this.partitions, request.now)
      const result = request.events.map((event) => this.claimEvent(event, request, taken, seen, writes))
      writes.write()
      return result
    })
    for (const [key, lease] of taken) this.leases.set(key, lease)
    return claims
  }

  private claimEvent(
    event: ClaimEvent,
    request: ClaimRequest,
    /** Leases this claim takes (applied once its transaction commits). */
    taken: Map<string, Lease>,
    /** Events a client's copy already routed in this claim. */
    seen: Set<string>,
    writes: ShardWrites,
  ): EventClaim {
    const { now } = request
    const key = leaseKey(event)
    const row = this.readEvent(event)
    const pairs = row ? this.pairsOf(row) : {}
    const held = taken.get(key) ?? this.liveLease(key, now)
    if (!event.isReplay) {
      // The event belongs to the client copy that first routed it; any other copy, in this
      // batch or later, is a duplicate. (A replay owns only the pairs it took.)
      const owns =
        !row ||
        row.ingest_id === event.owner ||
        Object.values(pairs).some((pair) => pair.owner === event.owner)
      if (seen.has(key) || !owns) {
        this.countDuplicate(event, row, held)
        return { kind: 'duplicate' }
      }
      seen.add(key)
    }
    if (held && held.claimId !== request.claimId) {
      // Another invocation is attempting the event now: a new copy from another client is a
      // duplicate; the same owner (or a replay) waits for that attempt to be recorded.
      if (!row && !event.isReplay && !held.isReplay && held.owner !== event.owner) {
        this.countDuplicate(event, row, held)
        return { kind: 'duplicate' }
      }
      return { kind: 'busy', until: held.until }
    }

    const changed: Pairs = {}
    const due: { destination: string; previous: PairState | null }[] = []
    let waitUntil: number | null = null
    const routed = new Set(event.routes.map((route) => route.destination))
    if (!event.isReplay) {
      // Still retrying for a destination since removed or disabled: nothing will deliver it now.
      for (const [destination, state] of Object.entries(pairs)) {
        if (state.status === 'retrying' && state.owner === event.owner && !routed.has(destination))
          changed[destination] = droppedState(event.owner, state, now, { reason: 'destination_removed' })
      }
    }
    for (const route of event.routes) {
      const previous = pairs[route.destination]
      const decision = decidePair(previous, event.owner, event.isReplay, now)
      if (decision.kind === 'wait') waitUntil = Math.min(waitUntil ?? decision.until, decision.until)
      if (decision.kind !== 'due') continue
      if (route.drop) changed[route.destination] = droppedState(event.owner, previous, now, route.drop)
      else due.push({ destination: route.destination, previous: previous ?? null })
    }
    // With pairs to attempt, the drops ride along with their outcomes: one row write, not two.
    if (due.length === 0 && Object.keys(changed).length > 0)
      this.writePairs(event, event.meta, event.owner, row, pairs, changed, null, now, writes)
    if (due.length > 0 && !taken.has(key))
      taken.set(key, {
        claimId: request.claimId,
        owner: event.owner,
        isReplay: event.isReplay,
        until: now + request.leaseMs,
        duplicates: held?.duplicates ?? 0,
      })
    return { kind: 'claimed', due, waitUntil, recordWithOutcomes: due.length > 0 ? changed : {} }
  }

  /**
   * Writes outcomes. Idempotent: a state older than the stored one, or the same
   * one again (a continuation recording what an earlier call already wrote), changes nothing.
   */
  async record(request: RecordRequest): Promise<void> {
    await this.scheduleRetention()
    const bodies = await this.compressNewBodies(request.events)
    // Outcomes carry the consumer's times: the change is placed no earlier than the latest.
    let now = request.now
    for (const event of request.events)
      for (const state of Object.values(event.states)) now = Math.max(now, state.updatedAt)
    this.transaction(() => {
      const writes = new ShardWrites(this.sql, this.partitions, now)
      for (const [index, event] of request.events.entries()) {
        const row = this.readEvent(event)
        const pairs = row ? this.pairsOf(row) : {}
        const changed: Pairs = {}
        for (const [destination, state] of Object.entries(event.states)) {
          const stored = pairs[destination]
          if (stored && (stored.updatedAt > state.updatedAt || samePair(stored, state))) continue
          changed[destination] = state
        }
        const lease = this.leases.get(leaseKey(event))
        if (Object.keys(changed).length > 0)
          this.writePairs(
            event,
            event.meta,
            event.owner,
            row,
            pairs,
            changed,
            bodies[index] ?? null,
            request.now,
            writes,
            lease,
          )
      }
      writes.write()
    })
    for (const event of request.events) {
      const id = leaseKey(event)
      const lease = this.leases.get(id)
      if (lease && (request.claimId === null || lease.claimId === request.claimId)) this.leases.delete(id)
    }
  }

  /** A message the queue gave up on: every routed pair not yet settled fails as `dead_lettered`. */
  async deadLetter(now: number, events: DeadLetterEvent[]): Promise<number> {
    await this.scheduleRetention()
    const bodies = await this.compressNewBodies(events)
    let failed = 0
    this.transaction(() => {
      const writes = new ShardWrites(this.sql, this.partitions, now)
      for (const [index, event] of events.entries()) {
        const row = this.readEvent(event)
        const pairs = row ? this.pairsOf(row) : {}
        const changed: Pairs = {}
        for (const route of event.routes) {
          const previous = pairs[route.destination]
          // A parked pair is its resume's to send, not the dead-lettered message's to fail.
          if (
            previous &&
            (isTerminal(previous.status) || previous.status === 'paused' || previous.owner !== event.owner)
          )
            continue
          changed[route.destination] = route.drop
            ? droppedState(event.owner, previous, now, route.drop)
            : abandonedState(event.owner, previous, now, 'dead_lettered')
          if (!route.drop) failed += 1
        }
        const body = bodies[index] ?? null
        if (Object.keys(changed).length > 0)
          this.writePairs(event, event.meta, event.owner, row, pairs, changed, body, now, writes)
      }
      writes.write()
    })
    for (const event of events) this.leases.delete(leaseKey(event))
    return failed
  }

  /** Whether this shard has a row for each key (finding events written before a shard-count raise). */
  holds(keys: EventKey[]): boolean[] {
    return keys.map((key) => this.readEvent(key) !== undefined)
  }

  /** Rows of these events (one shard holds all of an event's pairs). */
  lookup(keys: EventKey[]): LedgerRow[] {
    return keys.flatMap((key) => {
      const part = this.readEvent(key)?.part
      if (part === undefined) return []
      return this.sql
        .exec<LedgerRow & Record<string, SqlStorageValue>>(
          `SELECT * FROM (${deliveriesOf(`events${part}`)}) WHERE source = ? AND message_id = ? ORDER BY destination`,
          key.source,
          key.messageId,
        )
        .toArray()
    })
  }

  /**
   * Events by their latest change, newest first, then by (source, messageId,
   * destination), after `cursor`; `limit` rows. Walks `changes` newest first, a
   * span of change rows per query (SQLite sorts only the span), skipping the keys
   * of events changed again since; one event asked by key is read by key.
   */
  list(filter: DeliveryFilter, limit: number, cursor: ListCursor | null): LedgerRow[] {
    const partitions = this.partitions.all()
    const conditions = filterConditions(filter, 'd')
    if (cursor) {
      conditions.sql.push('(d.recorded_us, d.source, d.message_id, d.destination) < (?, ?, ?, ?)')
      conditions.params.push(cursor.recordedUs, cursor.source, cursor.messageId, cursor.destination)
    }
    const order = 'ORDER BY d.recorded_us DESC, d.source DESC, d.message_id DESC, d.destination DESC LIMIT ?'
    const read = (from: string, params: SqlStorageValue[], count: number) =>
      this.sql
        .exec<LedgerRow & Record<string, SqlStorageValue>>(
          `SELECT d.* FROM ${from} ${where(conditions.sql)} ${order}`,
          ...params,
          ...conditions.params,
          count,
        )
        .toArray()
    if (filter.source !== undefined && filter.messageId !== undefined) {
      const part = this.readEvent({ source: filter.source, messageId: filter.messageId })?.part
      return part === undefined ? [] : read(`(${deliveriesOf(`events${part}`)}) AS d`, [], limit)
    }

    // A pair changes no later than its change row is placed (ShardWrites): `since` bounds the walk.
    const floor = filter.since === undefined ? 0 : filter.since * 1000
    conditions.sql.unshift(
      'c.recorded_us BETWEEN ? AND ?',
      'd.source = k.value ->> 0 AND d.message_id = k.value ->> 1 AND d.recorded_us = c.recorded_us',
    )
    const rows: LedgerRow[] = []
    // Newest partition first: each holds the events whose latest change is in its period.
    for (const { suffix, firstUs, endUs } of partitions) {
      let high = Math.min(cursor?.recordedUs ?? Number.MAX_SAFE_INTEGER, endUs - 1)
      const partFloor = Math.max(floor, firstUs)
      for (let span = 16; rows.length < limit && high >= partFloor; span = Math.min(span * 4, 1024)) {
        const low =
          this.sql
            .exec<{ recorded_us: number }>(
              `SELECT recorded_us FROM changes${suffix} WHERE recorded_us BETWEEN ? AND ?
               ORDER BY recorded_us DESC LIMIT 1 OFFSET ?`,
              partFloor,
              high,
              span - 1,
            )
            .toArray()[0]?.recorded_us ?? partFloor
        // CROSS JOIN keeps the span's change rows the outer loop: the planner would otherwise
        // start from the events (e.g. every event of a source) and sort them all.
        rows.push(
          ...read(
            `changes${suffix} AS c CROSS JOIN json_each(c.keys) AS k CROSS JOIN (${deliveriesOf(`events${suffix}`)}) AS d`,
            [low, high],
            limit - rows.length,
          ),
        )
        high = low - 1
      }
      if (rows.length >= limit || endUs <= floor) break
    }
    return rows
  }

  /** Counts per destination × status × reason for pairs last changed in [since, until), from rollups. */
  stats(since: number, until: number, source?: string): StatsRow[] {
    const [first, end] = bucketRange(since, until)
    return this.sql
      .exec<StatsRow & Record<string, SqlStorageValue>>(
        `SELECT destination, status, NULLIF(reason, '') AS reason, SUM(count) AS count
         FROM (${rollupCounts(source)})
         GROUP BY destination, status, reason HAVING SUM(count) != 0`,
        first,
        end,
        ...(source === undefined ? [] : [source]),
      )
      .toArray()
  }

  /** Counts per destination × status × chart bar (`bucketMs`, a multiple of the rollup bucket). */
  timeline(since: number, until: number, bucketMs: number, source?: string): TimelineRow[] {
    const [first, end] = bucketRange(since, until)
    return this.sql
      .exec<TimelineRow & Record<string, SqlStorageValue>>(
        `SELECT destination, status, CAST((bucket * ? - ?) / ? AS INTEGER) AS bucket, SUM(count) AS count
         FROM (${rollupCounts(source)})
         GROUP BY destination, status, 3 HAVING SUM(count) != 0`,
        ROLLUP_BUCKET_MS,
        first * ROLLUP_BUCKET_MS,
        bucketMs,
        first,
        end,
        ...(source === undefined ? [] : [source]),
      )
      .toArray()
      .map((row) => ({
        ...row,
        bucket: row.bucket + Math.floor((first * ROLLUP_BUCKET_MS - since) / bucketMs),
      }))
  }

  /**
   * Takes pairs for a replay (compare-and-set in one transaction, so two replays
   * cannot both take a pair): each moves to retrying under `replayId`. Only pairs
   * in `selection.statuses` are taken (default failed and dropped); with a filter,
   * the oldest events first. Pairs without a kept body, or in another status, are skipped with why.
   */
  async takeForReplay(
    selection: ReplaySelection,
    limit: number,
    replayId: string,
    now: number,
  ): Promise<{ taken: ReplayTaken[]; skipped: ReplaySkip[] }> {
    const statuses = takeableStatuses(selection.statuses)
    const { kept, skipped } = this.transaction(() => {
      const writes = new ShardWrites(this.sql, this.partitions, now)
      const kept: (Omit<ReplayTaken, 'body'> & { stored: ArrayBuffer | string })[] = []
      const skipped: ReplaySkip[] = []
      for (const candidate of this.candidateRows(selection, limit)) {
        const key: PairKey = {
          source: candidate.source,
          messageId: candidate.message_id,
          destination: candidate.destination,
        }
        const row = this.readEvent(key)
        const pairs = row ? this.pairsOf(row) : {}
        const previous = pairs[key.destination]
        if (!row || !previous) continue
        if (!statuses.includes(previous.status)) {
          skipped.push({ ...key, reason: `status_${previous.status}` })
          continue
        }
        const body = candidate.body
        if (body === null) {
          skipped.push({ ...key, reason: 'event_not_kept' })
          continue
        }
        const state = replayedState(previous, replayId, now)
        this.writePairs(key, null, row.ingest_id, row, pairs, { [key.destination]: state }, null, now, writes)
        kept.push({ ...key, stored: body, previous })
      }
      writes.write()
      return { kept, skipped }
    })
    const taken = await Promise.all(
      kept.map(async ({ stored, ...pair }) => ({ ...pair, body: await inflateText(stored) })),
    )
    return { taken, skipped }
  }

  /**
   * The next `limit` pairs a replay by filter would take, oldest events first
   * (`created_at`, then key), after `selection.after`: read only, so the ledger
   * can merge every shard's and take exactly the globally oldest.
   */
  replayCandidates(selection: ReplaySelection, limit: number): ReplayPosition[] {
    return this.candidateRows({ ...selection, pairs: undefined }, limit).map((row) => ({
      source: row.source,
      messageId: row.message_id,
      destination: row.destination,
      createdAt: row.created_at,
    }))
  }

  /** What a replay of `selection` would resend per destination, and what it cannot (no body kept). */
  countReplayable(selection: ReplaySelection): ReplayCount[] {
    const statuses = takeableStatuses(selection.statuses)
    if (selection.pairs) {
      const counts = new Map<string, ReplayCount>()
      for (const row of this.candidateRows(selection, selection.pairs.length)) {
        if (!statuses.includes(row.status)) continue
        const count = counts.get(row.destination) ?? {
          destination: row.destination,
          replayable: 0,
          notKept: 0,
        }
        if (row.body === null) count.notKept += 1
        else count.replayable += 1
        counts.set(row.destination, count)
      }
      return [...counts.values()]
    }
    // An operator's question before a replay: one bounded aggregate over the matching pairs.
    const conditions = replayConditions(selection, statuses)
    const query = this.partitions.union(
      (suffix) =>
        `SELECT d.destination, e.body IS NOT NULL AS kept FROM ${withBody(suffix)} ${where(conditions.sql)}`,
      conditions.params,
    )
    return this.sql
      .exec<ReplayCount & Record<string, SqlStorageValue>>(
        `SELECT destination, SUM(kept) AS replayable, SUM(NOT kept) AS notKept
         FROM (${query.sql}) GROUP BY destination`,
        ...query.params,
      )
      .toArray()
  }

  /** Gives pairs back the state they had before a replay took them (the queue refused the replay). */
  releaseReplay(taken: ReplayTaken[], replayId: string, now: number): void {
    this.transaction(() => {
      const writes = new ShardWrites(this.sql, this.partitions, now)
      for (const item of taken) {
        const row = this.readEvent(item)
        if (!row) continue
        const pairs = this.pairsOf(row)
        const current = pairs[item.destination]
        if (current?.owner !== replayId || current.status !== 'retrying') continue
        this.writePairs(
          item,
          null,
          row.ingest_id,
          row,
          pairs,
          { [item.destination]: item.previous },
          null,
          now,
          writes,
        )
      }
      writes.write()
    })
  }

  /** Bytes this shard's database takes (its capacity is 10 GB). */
  size(): number {
    return this.sql.databaseSize
  }

  /**
   * Fails pairs retrying unchanged since before the retention cutoff, drops the
   * oldest partition whose period ended before it (its events' latest changes are
   * all past retention), and clears event bodies past theirs: at most `batch`
   * orphans and bodies, one partition; reports whether more remain.
   */
  purge(
    now: number,
    batch = PURGE_BATCH,
  ): { events: number; bodies: number; orphaned: number; more: boolean } {
    const eventCutoff = now - this.retentionDays() * DAY_MS
    const bodyCutoff = now - positiveNumberFromEnv(this.env.LEDGER_BODY_RETENTION_DAYS, 7) * DAY_MS
    return this.transaction(() => {
      const writes = new ShardWrites(this.sql, this.partitions, now)
      // Orphans first: failing them moves them to the current partition, out of those dropped next.
      const orphaned = this.failOrphans(eventCutoff, now, batch, writes)
      const expired = this.dropExpiredPartition(eventCutoff * 1000, now * 1000, writes)
      writes.write()
      // A parked pair's body is what its resume sends: kept while it is parked.
      const kept = this.partitions.union(
        (suffix) => `SELECT '${suffix}' AS part, source, message_id, body_kept_at FROM events${suffix}
          WHERE body_kept_at < ? AND NOT EXISTS (SELECT 1 FROM json_each(destinations) WHERE value ->> 's' = 'paused')`,
        [bodyCutoff],
      )
      const bodies = this.sql
        .exec<{ part: string; source: string; message_id: string }>(
          `SELECT part, source, message_id FROM (${kept.sql}) ORDER BY body_kept_at LIMIT ?`,
          ...kept.params,
          batch,
        )
        .toArray()
      for (const row of bodies)
        this.sql.exec(
          `UPDATE events${row.part} SET body = NULL, body_kept_at = NULL WHERE source = ? AND message_id = ?`,
          row.source,
          row.message_id,
        )
      return {
        events: expired.events,
        bodies: bodies.length,
        orphaned,
        more: expired.more || bodies.length === batch || orphaned === batch,
      }
    })
  }

  /**
   * Drops the oldest partition whose period ended before `cutoffUs`: every event in it
   * was last changed before retention's cutoff. Its pairs leave the rollups with it. Waits
   * while it holds an event with a pair retrying (the orphan sweep moves that one out
   * first). A shard always keeps a partition to write to: the current period's.
   */
  private dropExpiredPartition(
    cutoffUs: number,
    nowUs: number,
    writes: ShardWrites,
  ): { events: number; more: boolean } {
    const expired = this.partitions.all().filter((partition) => partition.endUs <= cutoffUs)
    const oldest = expired.at(-1)
    if (!oldest) return { events: 0, more: false }
    const table = `events${oldest.suffix}`
    if (this.sql.exec(`SELECT 1 FROM ${table} WHERE unsettled = 1 LIMIT 1`).toArray().length > 0)
      return { events: 0, more: true }
    const counts = this.sql.exec<{
      bucket: number
      source: string
      destination: string
      status: string
      reason: string | null
      pairs: number
    }>(
      `SELECT CAST(updated_at / ? AS INTEGER) AS bucket, source, destination, status, reason, count(*) AS pairs
       FROM (${deliveriesOf(table)}) GROUP BY 1, 2, 3, 4, 5`,
      ROLLUP_BUCKET_MS,
    )
    for (const row of counts)
      writes.count(row.bucket, rollupKey(row.source, row.destination, row.status, row.reason), -row.pairs)
    const events = this.sql.exec<{ events: number }>(`SELECT count(*) AS events FROM ${table}`).one().events
    this.partitions.drop(oldest.suffix)
    if (this.partitions.all().length === 0) this.partitions.forChange(nowUs)
    return { events, more: expired.length > 1 }
  }

  /**
   * Events with a pair retrying and no change since `cutoff` (a retention period
   * ago): no message is coming for them any more (a queue message and its dead
   * letter live at most 14 days each; a replay may have died between taking a pair
   * and queueing it). Their retrying pairs fail as `orphaned`: the dashboard shows
   * what became of them, and retention purges them in turn instead of never.
   */
  private failOrphans(cutoff: number, now: number, batch: number, writes: ShardWrites): number {
    const unsettled = this.partitions.union(
      (suffix) =>
        `SELECT ${eventColumns(suffix)} FROM events${suffix} WHERE unsettled = 1 AND updated_at < ?`,
      [cutoff],
    )
    const orphans = this.sql
      .exec<EventRow>(
        `SELECT * FROM (${unsettled.sql}) ORDER BY updated_at LIMIT ?`,
        ...unsettled.params,
        batch,
      )
      .toArray()
    for (const row of orphans) {
      const key = { source: row.source, messageId: row.message_id }
      const pairs = this.pairsOf(row)
      const changed: Pairs = {}
      for (const [destination, state] of Object.entries(pairs))
        if (state.status === 'retrying')
          changed[destination] = abandonedState(state.owner, state, now, 'orphaned')
      this.writePairs(key, null, row.ingest_id, row, pairs, changed, null, now, writes)
    }
    if (orphans.length > 0) logWarn({ msg: 'ledger pairs orphaned', count: orphans.length })
    return orphans.length
  }

  /** Retention runs on the shard's own alarm: soon again while a purge has more to do, else hourly. */
  override async alarm(): Promise<void> {
    const now = this.clock.now()
    const { more } = this.purge(now)
    await this.ctx.storage.setAlarm(now + (more ? 1_000 : PURGE_INTERVAL_MS))
  }

  private async scheduleRetention(): Promise<void> {
    if (this.alarmChecked) return
    if ((await this.ctx.storage.getAlarm()) === null)
      await this.ctx.storage.setAlarm(this.clock.now() + PURGE_INTERVAL_MS)
    this.alarmChecked = true
  }

  /**
   * The bodies to keep, deflated before a write's transaction (a transaction cannot
   * wait); none for an event whose row keeps one already, e.g. a retry's outcome.
   */
  private compressNewBodies(
    events: readonly (EventKey & { body: string | null })[],
  ): Promise<(ArrayBuffer | null)[]> {
    return Promise.all(
      events.map((event) =>
        event.body === null || this.readEvent(event)?.has_body ? null : deflateText(event.body),
      ),
    )
  }

  private liveLease(key: string, now: number): Lease | undefined {
    const lease = this.leases.get(key)
    if (lease && lease.until <= now) {
      this.leases.delete(key)
      return undefined
    }
    return lease
  }

  private countDuplicate(key: EventKey, row: EventRow | undefined, lease: Lease | undefined): void {
    if (row)
      this.sql.exec(
        `UPDATE events${row.part} SET duplicates = duplicates + 1 WHERE source = ? AND message_id = ?`,
        key.source,
        key.messageId,
      )
    else if (lease) lease.duplicates += 1
  }

  /** The event's row, from whichever partition holds it (newest first: the likeliest). */
  private readEvent(key: EventKey): EventRow | undefined {
    const query = this.partitions.union(
      (suffix) => `SELECT ${eventColumns(suffix)} FROM events${suffix} WHERE source = ? AND message_id = ?`,
      [key.source, key.messageId],
    )
    return this.sql.exec<EventRow>(`${query.sql} LIMIT 1`, ...query.params).toArray()[0]
  }

  private pairsOf(row: Pick<EventRow, 'destinations' | 'ingest_id' | 'updated_at'>): Pairs {
    const stored = JSON.parse(row.destinations) as Record<string, StoredPair>
    const event = { owner: row.ingest_id, updatedAt: row.updated_at }
    const pairs: Pairs = {}
    for (const [destination, pair] of Object.entries(stored)) pairs[destination] = loadPair(pair, event)
    return pairs
  }

  /**
   * Writes changed pairs of one event (inserting it when it has no row yet, with
   * `meta`), moves their rollup counts, and keeps `body` when given and none is kept.
   */
  private writePairs(
    key: EventKey,
    meta: EventMeta | null,
    owner: string,
    row: EventRow | undefined,
    pairs: Pairs,
    changed: Pairs,
    body: ArrayBuffer | null,
    now: number,
    writes: ShardWrites,
    lease?: Lease,
  ): void {
    const merged: Pairs = { ...pairs, ...changed }
    const eventOwner = row?.ingest_id ?? owner
    const updatedAt = Math.max(
      row?.updated_at ?? 0,
      ...Object.values(changed).map((state) => state.updatedAt),
    )
    const stored: Record<string, StoredPair> = {}
    for (const [destination, state] of Object.entries(merged))
      stored[destination] = storePair(state, { owner: eventOwner, updatedAt })
    for (const [destination, state] of Object.entries(changed))
      writes.move(key.source, destination, pairs[destination], state)
    const unsettled = Object.values(merged).some((state) => state.status === 'retrying') ? 1 : 0
    const keptBody = row?.has_body ? null : body
    const change = writes.change(key)
    if (row) {
      if (row.part !== change.part) {
        // Changed in a later period than its partition's: it moves, so that partition can go whole.
        this.sql.exec(
          `INSERT INTO events${change.part} (${STORED_COLUMNS})
           SELECT ${STORED_COLUMNS} FROM events${row.part} WHERE source = ? AND message_id = ?`,
          key.source,
          key.messageId,
        )
        this.sql.exec(
          `DELETE FROM events${row.part} WHERE source = ? AND message_id = ?`,
          key.source,
          key.messageId,
        )
      }
      this.sql.exec(
        `UPDATE events${change.part} SET destinations = jsonb(?), body = coalesce(body, ?),
           body_kept_at = coalesce(body_kept_at, ?), updated_at = ?, recorded_us = ?, unsettled = ?
         WHERE source = ? AND message_id = ?`,
        JSON.stringify(stored),
        keptBody,
        keptBody === null ? null : now,
        updatedAt,
        change.recordedUs,
        unsettled,
        key.source,
        key.messageId,
      )
      return
    }
    if (!meta) return
    this.sql.exec(
      `INSERT INTO events${change.part} (source, message_id, ingest_id, event_type, event_name, user_id, destinations,
         body, body_kept_at, duplicates, created_at, updated_at, recorded_us, unsettled)
       VALUES (?, ?, ?, ?, ?, ?, jsonb(?), ?, ?, ?, ?, ?, ?, ?)`,
      key.source,
      key.messageId,
      eventOwner,
      meta.type,
      meta.name,
      meta.userId,
      JSON.stringify(stored),
      keptBody,
      keptBody === null ? null : now,
      lease?.duplicates ?? 0,
      now,
      updatedAt,
      change.recordedUs,
      unsettled,
    )
  }

  /** Exact pairs as asked, or the oldest `limit` pairs matching a filter in the replay's statuses. */
  private candidateRows(selection: ReplaySelection, limit: number): CandidateRow[] {
    const select = (suffix: string) =>
      `SELECT d.source, d.message_id, d.destination, d.status, d.created_at, e.body FROM ${withBody(suffix)}`
    if (selection.pairs) {
      return selection.pairs.flatMap((pair) => {
        const part = this.readEvent(pair)?.part
        if (part === undefined) return []
        return this.sql
          .exec<CandidateRow>(
            `${select(part)} WHERE d.source = ? AND d.message_id = ? AND d.destination = ?`,
            pair.source,
            pair.messageId,
            pair.destination,
          )
          .toArray()
      })
    }
    const conditions = replayConditions(selection, takeableStatuses(selection.statuses))
    const query = this.partitions.union(
      (suffix) => `${select(suffix)} ${where(conditions.sql)}`,
      conditions.params,
    )
    return this.sql
      .exec<CandidateRow>(
        `SELECT * FROM (${query.sql}) ORDER BY created_at, source, message_id, destination LIMIT ?`,
        ...query.params,
        limit,
      )
      .toArray()
  }
}

interface CandidateRow extends Record<string, SqlStorageValue> {
  source: string
  message_id: string
  destination: string
  status: LedgerStatus
  created_at: number
  /** Deflated (`src/lib/deflate.ts`), or text when kept before bodies were compressed. */
  body: ArrayBuffer | string | null
}

/**
 * The statuses a replay may take: as asked (default failed and dropped), never
 * `retrying`, which belongs to an attempt in flight.
 */
function takeableStatuses(statuses: readonly LedgerStatus[] = REPLAYABLE_STATUSES): LedgerStatus[] {
  return statuses.filter((status) => status !== 'retrying')
}

/** A replay filter's conditions over `deliveries AS d`: the filter, the statuses, and `after`. */
function replayConditions(
  selection: ReplaySelection,
  statuses: readonly LedgerStatus[],
): { sql: string[]; params: SqlStorageValue[] } {
  const conditions = filterConditions(selection.filter ?? {}, 'd')
  conditions.sql.push(statuses.length > 0 ? `d.status IN (${statuses.map(() => '?').join(', ')})` : 'FALSE')
  conditions.params.push(...statuses)
  const after = selection.after
  if (after) {
    conditions.sql.push(
      'd.created_at >= ? AND (d.created_at, d.source, d.message_id, d.destination) > (?, ?, ?, ?)',
    )
    conditions.params.push(after.createdAt, after.createdAt, after.source, after.messageId, after.destination)
  }
  return conditions
}

/** Pairs of partition `suffix` as `d`, beside their event row as `e` (for its body). */
function withBody(suffix: string): string {
  return `(${deliveriesOf(`events${suffix}`)}) AS d
    JOIN events${suffix} AS e ON e.source = d.source AND e.message_id = d.message_id`
}

/** The rollup buckets a window covers: those starting in [since, until). */
function bucketRange(since: number, until: number): [number, number] {
  return [Math.ceil(since / ROLLUP_BUCKET_MS), Math.ceil(until / ROLLUP_BUCKET_MS)]
}

function samePair(a: PairState, b: PairState): boolean {
  return (
    a.updatedAt === b.updatedAt && a.status === b.status && a.attempts === b.attempts && a.owner === b.owner
  )
}
