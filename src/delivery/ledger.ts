import type { SegmentEvent } from '../segment/schema'

/**
 * The delivery ledger in D1. Storage is one `events` row per (source,
 * messageId) holding every destination's state as JSON, so an event routed to
 * four partners costs one row written; readers use the `deliveries` view, one
 * row per (source, messageId, destination). Schema: migrations/, docs/storage.md.
 */

export type LedgerStatus = 'delivered' | 'dropped' | 'retrying' | 'failed'

/** One destination's state for one event (a value of `events.destinations`). */
export interface DestinationState {
  /** The accepted request (or replay) this state belongs to; see docs/storage.md. */
  ingestId: string
  status: LedgerStatus
  reason: string | null
  /** Partner calls made for this pair. */
  attempts: number
  nextAttemptAt: number | null
  lastError: string | null
  partnerStatus: number | null
  summary: string | null
  replays: number
  /** Start of the current 4-hour retry window (first attempt, or the last replay). */
  windowStartedAt: number
  updatedAt: number
}

/** A row of the `deliveries` view, as the admin API and the tests read it. */
export interface LedgerRow {
  source: string
  message_id: string
  destination: string
  ingest_id: string
  event_type: string
  event_name: string | null
  user_id: string | null
  status: LedgerStatus
  reason: string | null
  attempts: number
  next_attempt_at: number | null
  last_error: string | null
  partner_status: number | null
  response_summary: string | null
  duplicates: number
  replays: number
  created_at: number
  window_started_at: number
  updated_at: number
}

export interface EventKey {
  source: string
  messageId: string
}

export function eventKey(key: EventKey): string {
  return `${key.source}\u0000${key.messageId}`
}

/** What the consumer needs of a stored event. */
export interface StoredEvent {
  destinations: Record<string, DestinationState>
  hasBody: boolean
}

/** Reads the stored state of these events, in one query. */
export async function readEvents(db: D1Database, keys: EventKey[]): Promise<Map<string, StoredEvent>> {
  const stored = new Map<string, StoredEvent>()
  if (keys.length === 0) return stored
  const { results } = await db
    .prepare(
      `SELECT e.source, e.message_id, e.destinations, e.body IS NOT NULL AS has_body
       FROM json_each(?) AS k JOIN events AS e ON e.source = k.value ->> 0 AND e.message_id = k.value ->> 1`,
    )
    .bind(JSON.stringify(keys.map((key) => [key.source, key.messageId])))
    .all<{ source: string; message_id: string; destinations: string; has_body: number }>()
  for (const row of results) {
    stored.set(eventKey({ source: row.source, messageId: row.message_id }), {
      destinations: JSON.parse(row.destinations) as Record<string, DestinationState>,
      hasBody: row.has_body === 1,
    })
  }
  return stored
}

function eventName(event: SegmentEvent): string | null {
  if (event.type === 'track') return event.event
  if (event.type === 'page' || event.type === 'screen') return event.name ?? null
  if (event.type === 'group') return event.groupId
  return null
}

/** What one consumer batch writes for one event. */
export interface EventWrite extends EventKey {
  event: SegmentEvent
  /** True when the event had no row when the batch read the ledger. */
  isNew: boolean
  /** The destinations whose state changed, with their whole new state. */
  states: Record<string, DestinationState>
  /** Keep the event body for replay (a destination failed or dropped it). */
  keepBody: boolean
}

/**
 * Writes a consumer batch's outcomes as one D1 batch: new events are inserted
 * (if absent: a concurrent consumer may have inserted the same messageId first,
 * which is reported back), existing ones get their changed destinations patched
 * in, and re-sent messageIds have their duplicate count raised.
 */
export async function recordOutcomes(
  db: D1Database,
  writes: EventWrite[],
  duplicates: Map<string, EventKey & { count: number }>,
  now: number,
): Promise<EventWrite[]> {
  const insert = db.prepare(
    `INSERT INTO events (source, message_id, event_type, event_name, user_id, destinations, body, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (source, message_id) DO NOTHING
     RETURNING message_id`,
  )
  // json_patch merges by key: only the destinations in the patch change (each replaced whole,
  // since every state carries all its fields; a null field is removed).
  const patch = db.prepare(
    `UPDATE events SET destinations = json_patch(destinations, ?), body = COALESCE(body, ?), updated_at = ?
     WHERE source = ? AND message_id = ?`,
  )
  const duplicate = db.prepare(
    'UPDATE events SET duplicates = duplicates + ? WHERE source = ? AND message_id = ?',
  )
  const body = (write: EventWrite) => (write.keepBody ? JSON.stringify(write.event) : null)
  const statements = [
    ...writes.map((write) =>
      write.isNew
        ? insert.bind(
            write.source,
            write.messageId,
            write.event.type,
            eventName(write.event),
            write.event.userId ?? null,
            JSON.stringify(write.states),
            body(write),
            now,
            now,
          )
        : patch.bind(JSON.stringify(write.states), body(write), now, write.source, write.messageId),
    ),
    ...[...duplicates.values()].map((key) => duplicate.bind(key.count, key.source, key.messageId)),
  ]
  if (statements.length === 0) return []
  const results = await db.batch(statements)
  return writes.filter((write, index) => write.isNew && (results[index]?.results.length ?? 0) === 0)
}

/** A destination's state as the `deliveries` view shows it. */
export function stateFromRow(row: LedgerRow): DestinationState {
  return {
    ingestId: row.ingest_id,
    status: row.status,
    reason: row.reason,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    partnerStatus: row.partner_status,
    summary: row.response_summary,
    replays: row.replays,
    windowStartedAt: row.window_started_at,
    updatedAt: row.updated_at,
  }
}

/** JSON path of one destination's state field; names come from the registry (no quotes in them). */
export function statePath(destination: string, field: keyof DestinationState): string {
  return `$."${destination}".${field}`
}

/**
 * Replaces one destination's state if it still has the expected status and
 * owner (compare-and-set, so two replays cannot both take a pair). Returns a
 * statement for a D1 batch; it returns a row when it applied.
 */
export function swapState(
  db: D1Database,
  key: EventKey & { destination: string },
  expected: { statuses: LedgerStatus[]; ingestId: string },
  next: DestinationState,
): D1PreparedStatement {
  const statuses = expected.statuses.map(() => '?').join(', ')
  return db
    .prepare(
      `UPDATE events SET destinations = json_patch(destinations, ?), updated_at = ?
       WHERE source = ? AND message_id = ? AND destinations ->> ? IN (${statuses}) AND destinations ->> ? = ?
       RETURNING message_id`,
    )
    .bind(
      JSON.stringify({ [key.destination]: next }),
      next.updatedAt,
      key.source,
      key.messageId,
      statePath(key.destination, 'status'),
      ...expected.statuses,
      statePath(key.destination, 'ingestId'),
      expected.ingestId,
    )
}
