import type { SegmentEvent } from '../segment/schema'

/** Columns of the `deliveries` table (migrations/0001_ledger.sql, docs/storage.md). */
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

export type LedgerStatus = 'pending' | 'delivered' | 'dropped' | 'retrying' | 'failed'

export interface LedgerKey {
  source: string
  messageId: string
  destination: string
}

export function ledgerKey(key: LedgerKey): string {
  return `${key.source}\u0000${key.messageId}\u0000${key.destination}`
}

/** A row to create for a (event, destination) pair seen for the first time. */
export interface NewLedgerRow extends LedgerKey {
  ingestId: string
  event: SegmentEvent
  status: 'pending' | 'dropped'
  reason?: string
}

/** The result of claiming: which new rows this consumer created, and every row as it now stands. */
export interface ClaimResult {
  created: Set<string>
  rows: Map<string, LedgerRow>
}

function eventName(event: SegmentEvent): string | null {
  if (event.type === 'track') return event.event
  if (event.type === 'page' || event.type === 'screen') return event.name ?? null
  if (event.type === 'group') return event.groupId
  return null
}

/**
 * Claims pairs in one D1 batch: inserts every new pair (skipping those that
 * exist, which is how concurrent consumers and duplicates are told apart) and
 * reads every pair back. D1 runs the batch as one transaction.
 */
export async function claimPairs(db: D1Database, pairs: NewLedgerRow[], now: number): Promise<ClaimResult> {
  if (pairs.length === 0) return { created: new Set(), rows: new Map() }
  const insert = db.prepare(
    `INSERT INTO deliveries (source, message_id, destination, ingest_id, event_type, event_name, user_id, status, reason,
       created_at, window_started_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (source, message_id, destination) DO NOTHING
     RETURNING destination`,
  )
  const statements = pairs.map((pair) =>
    insert.bind(
      pair.source,
      pair.messageId,
      pair.destination,
      pair.ingestId,
      pair.event.type,
      eventName(pair.event),
      pair.event.userId ?? null,
      pair.status,
      pair.reason ?? null,
      now,
      now,
      now,
    ),
  )
  const keys = JSON.stringify(pairs.map((pair) => [pair.source, pair.messageId, pair.destination]))
  const select = db
    .prepare(
      `SELECT d.* FROM json_each(?) AS k JOIN deliveries AS d
         ON d.source = k.value ->> 0 AND d.message_id = k.value ->> 1 AND d.destination = k.value ->> 2`,
    )
    .bind(keys)
  const results = await db.batch<Record<string, unknown>>([...statements, select])
  const created = new Set<string>()
  pairs.forEach((pair, index) => {
    if ((results[index]?.results.length ?? 0) > 0) created.add(ledgerKey(pair))
  })
  const rows = new Map<string, LedgerRow>()
  for (const row of (results.at(-1)?.results ?? []) as unknown as LedgerRow[]) {
    rows.set(ledgerKey({ source: row.source, messageId: row.message_id, destination: row.destination }), row)
  }
  return { created, rows }
}

/** A state change of one claimed pair, written in the consumer batch's single record batch. */
export interface LedgerUpdate extends LedgerKey {
  ingestId: string
  status: Exclude<LedgerStatus, 'pending'>
  reason?: string
  /** 1 when the partner was called for this update. */
  attempted: boolean
  nextAttemptAt?: number
  lastError?: string
  partnerStatus?: number
  summary?: string
}

/** Everything one consumer batch writes, sent as one D1 batch. */
export interface LedgerWrites {
  updates: LedgerUpdate[]
  duplicates: LedgerKey[]
  /** Events some destination did not get, kept for replay. */
  undelivered: { source: string; event: SegmentEvent }[]
}

export async function recordOutcomes(db: D1Database, writes: LedgerWrites, now: number): Promise<void> {
  const update = db.prepare(
    `UPDATE deliveries SET status = ?, reason = ?, attempts = attempts + ?, next_attempt_at = ?, last_error = ?,
       partner_status = ?, response_summary = ?, updated_at = ?
     WHERE source = ? AND message_id = ? AND destination = ? AND ingest_id = ?`,
  )
  const duplicate = db.prepare(
    'UPDATE deliveries SET duplicates = duplicates + 1 WHERE source = ? AND message_id = ? AND destination = ?',
  )
  const keep = db.prepare(
    'INSERT INTO undelivered_events (source, message_id, body, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
  )
  const statements = [
    ...writes.updates.map((u) =>
      update.bind(
        u.status,
        u.reason ?? null,
        u.attempted ? 1 : 0,
        u.nextAttemptAt ?? null,
        u.lastError ?? null,
        u.partnerStatus ?? null,
        u.summary ?? null,
        now,
        u.source,
        u.messageId,
        u.destination,
        u.ingestId,
      ),
    ),
    ...writes.duplicates.map((d) => duplicate.bind(d.source, d.messageId, d.destination)),
    ...writes.undelivered.map((u) => keep.bind(u.source, u.event.messageId, JSON.stringify(u.event), now)),
  ]
  if (statements.length > 0) await db.batch(statements)
}
