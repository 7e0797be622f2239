import type * as v from 'valibot'
import type { LedgerRow } from '../delivery/ledger'
import { RouterError } from '../lib/errors'
import type { DeliveryFilterSchema } from './deliveries'

export type DeliveryFilter = v.InferOutput<typeof DeliveryFilterSchema> & {
  /** Matches a messageId or a userId (the dashboard's one search box). */
  search?: string
}

/** Builds `WHERE …` for a filter (columns of table `alias`); every value is bound, never interpolated. */
export function whereClause(
  filter: DeliveryFilter,
  alias = '',
): { sql: string; params: (string | number)[] } {
  const conditions: string[] = []
  const params: (string | number)[] = []
  const prefix = alias ? `${alias}.` : ''
  const equal = (column: string, value: string | undefined) => {
    if (value === undefined) return
    conditions.push(`${prefix}${column} = ?`)
    params.push(value)
  }
  equal('source', filter.source)
  equal('message_id', filter.messageId)
  equal('user_id', filter.userId)
  equal('destination', filter.destination)
  equal('status', filter.status)
  equal('reason', filter.reason)
  if (filter.search !== undefined) {
    conditions.push(`(${prefix}message_id = ? OR ${prefix}user_id = ?)`)
    params.push(filter.search, filter.search)
  }
  if (filter.since !== undefined) {
    conditions.push(`${prefix}updated_at >= ?`)
    params.push(filter.since)
  }
  if (filter.until !== undefined) {
    conditions.push(`${prefix}updated_at < ?`)
    params.push(filter.until)
  }
  return { sql: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', params }
}

interface Cursor {
  updatedAt: number
  source: string
  messageId: string
  destination: string
}

function encodeCursor(row: LedgerRow): string {
  const cursor: Cursor = {
    updatedAt: row.updated_at,
    source: row.source,
    messageId: row.message_id,
    destination: row.destination,
  }
  return btoa(encodeURIComponent(JSON.stringify(cursor)))
}

function decodeCursor(text: string): Cursor {
  try {
    const cursor = JSON.parse(decodeURIComponent(atob(text))) as Cursor
    if (typeof cursor.updatedAt === 'number' && typeof cursor.source === 'string') return cursor
  } catch {
    // fall through to the error below
  }
  throw new RouterError(400, 'invalid_query', 'cursor is not one this API returned', [
    { path: 'cursor', message: 'invalid cursor' },
  ])
}

/** Newest first, keyset-paginated on (updated_at, source, message_id, destination). */
export async function queryDeliveries(
  db: D1Database,
  filter: DeliveryFilter,
  limit: number,
  cursorText?: string,
): Promise<{ deliveries: LedgerRow[]; nextCursor: string | null }> {
  const where = whereClause(filter)
  let sql = where.sql
  const params = [...where.params]
  if (cursorText) {
    const cursor = decodeCursor(cursorText)
    sql += `${sql ? ' AND' : 'WHERE'} (updated_at, source, message_id, destination) < (?, ?, ?, ?)`
    params.push(cursor.updatedAt, cursor.source, cursor.messageId, cursor.destination)
  }
  const { results } = await db
    .prepare(
      `SELECT * FROM deliveries ${sql} ORDER BY updated_at DESC, source DESC, message_id DESC, destination DESC LIMIT ?`,
    )
    .bind(...params, limit + 1)
    .all<LedgerRow>()
  const page = results.slice(0, limit)
  const last = page.at(-1)
  return { deliveries: page, nextCursor: results.length > limit && last ? encodeCursor(last) : null }
}

export interface StatsRow {
  destination: string
  status: string
  reason: string | null
  count: number
}

/** Counts per destination × status (× drop/fail reason) for rows last changed in the window. */
export async function queryStats(
  db: D1Database,
  window: { since: number; until: number; source?: string },
): Promise<{ since: number; until: number; counts: StatsRow[] }> {
  const where = whereClause(window)
  const { results } = await db
    .prepare(
      `SELECT destination, status, reason, COUNT(*) AS count FROM deliveries ${where.sql}
       GROUP BY destination, status, reason ORDER BY destination, status, reason`,
    )
    .bind(...where.params)
    .all<StatsRow>()
  return { since: window.since, until: window.until, counts: results }
}

export interface TimelineRow {
  destination: string
  status: string
  /** Index of the bucket: rows with `since + bucket × bucketMs <= updated_at < since + (bucket + 1) × bucketMs`. */
  bucket: number
  count: number
}

/**
 * Counts per destination × status × time bucket for rows last changed in the
 * window (the dashboard's charts). Buckets with no rows are absent.
 */
export async function queryTimeline(
  db: D1Database,
  window: { since: number; until: number; bucketMs: number; source?: string },
): Promise<TimelineRow[]> {
  const where = whereClause(window)
  const { results } = await db
    .prepare(
      `SELECT destination, status, CAST((updated_at - ?) / ? AS INTEGER) AS bucket, COUNT(*) AS count
       FROM deliveries ${where.sql} GROUP BY destination, status, bucket ORDER BY destination, bucket`,
    )
    .bind(window.since, window.bucketMs, ...where.params)
    .all<TimelineRow>()
  return results
}
