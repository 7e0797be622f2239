import { Hono } from 'hono'
import * as v from 'valibot'
import { type LedgerRow, stateFromRow, swapState } from '../delivery/ledger'
import { findDestination } from '../destinations/registry'
import type { AppEnv, Bindings } from '../env'
import { readJsonBody } from '../lib/body'
import { RouterError, toInputIssues } from '../lib/errors'
import { logInfo } from '../lib/log'
import { enqueueEvents } from '../queue/produce'
import type { SegmentEvent } from '../segment/schema'
import { type DeliveryFilter, whereClause } from './ledger-queries'

const KeySchema = v.object({
  source: v.string(),
  messageId: v.string(),
  destination: v.pipe(
    v.string(),
    v.check((name) => findDestination(name) !== undefined, 'unknown destination (use the catalog name)'),
  ),
})

const ReplaySchema = v.pipe(
  v.object({
    /** Exact deliveries, as listed by GET /admin/deliveries. */
    deliveries: v.optional(
      v.pipe(v.array(KeySchema), v.maxLength(1000, 'at most 1000 deliveries per replay')),
    ),
    /** Or every failed/dropped delivery matching a filter. */
    filter: v.optional(
      v.object({
        source: v.optional(v.string()),
        messageId: v.optional(v.string()),
        userId: v.optional(v.string()),
        destination: v.optional(v.string()),
        status: v.optional(
          v.picklist(['failed', 'dropped'], 'only failed or dropped deliveries can be replayed'),
        ),
        reason: v.optional(v.string()),
        since: v.optional(v.number()),
        until: v.optional(v.number()),
      }),
    ),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)), 1000),
  }),
  v.check((input) => Boolean(input.deliveries) !== Boolean(input.filter), 'give either deliveries or filter'),
)

type Candidate = LedgerRow & { body: string | null }

async function findCandidates(
  db: D1Database,
  input: v.InferOutput<typeof ReplaySchema>,
): Promise<Candidate[]> {
  const select = `SELECT d.*, e.body FROM deliveries AS d
    JOIN events AS e ON e.source = d.source AND e.message_id = d.message_id`
  if (input.deliveries) {
    const keys = JSON.stringify(input.deliveries.map((key) => [key.source, key.messageId, key.destination]))
    const { results } = await db
      .prepare(
        `${select} JOIN json_each(?) AS k ON d.source = k.value ->> 0 AND d.message_id = k.value ->> 1
           AND d.destination = k.value ->> 2`,
      )
      .bind(keys)
      .all<Candidate>()
    return results
  }
  const filter: DeliveryFilter = input.filter ?? {}
  const where = whereClause(filter, 'd')
  const { results } = await db
    .prepare(
      `${select} ${where.sql} ${where.sql ? 'AND' : 'WHERE'} d.status IN ('failed', 'dropped') LIMIT ?`,
    )
    .bind(...where.params, input.limit)
    .all<Candidate>()
  return results
}

/**
 * Takes the candidates for this replay atomically: only pairs still failed or
 * dropped, and still owned by whom they were read with, move to retrying under
 * the replay's id, so two replays of the same delivery queue it once.
 */
async function claimForReplay(
  db: D1Database,
  rows: Candidate[],
  replayId: string,
  now: number,
): Promise<Candidate[]> {
  if (rows.length === 0) return []
  const claims = rows.map((row) =>
    swapState(
      db,
      { source: row.source, messageId: row.message_id, destination: row.destination },
      { statuses: ['failed', 'dropped'], ingestId: row.ingest_id },
      {
        ...stateFromRow(row),
        ingestId: replayId,
        status: 'retrying',
        nextAttemptAt: null,
        replays: row.replays + 1,
        windowStartedAt: now,
        updatedAt: now,
      },
    ),
  )
  const results = await db.batch(claims)
  return rows.filter((_, index) => (results[index]?.results.length ?? 0) > 0)
}

/** Gives pairs back their previous state when the queue refused the replay. */
async function releaseReplay(db: D1Database, rows: Candidate[], replayId: string): Promise<void> {
  if (rows.length === 0) return
  await db.batch(
    rows.map((row) =>
      swapState(
        db,
        { source: row.source, messageId: row.message_id, destination: row.destination },
        { statuses: ['retrying'], ingestId: replayId },
        stateFromRow(row),
      ),
    ),
  )
}

async function enqueueReplay(env: Bindings, rows: Candidate[], replayId: string): Promise<void> {
  // One message group per (source, destination): `only` then names exactly the destination replayed.
  const groups = Map.groupBy(rows, (row) => `${row.source}\u0000${row.destination}`)
  for (const group of groups.values()) {
    const first = group[0]
    if (!first) continue
    const events = group.map((row) => JSON.parse(row.body ?? 'null') as SegmentEvent)
    await enqueueEvents(env.DELIVERY_QUEUE, first.source, events, {
      ingestId: replayId,
      only: [first.destination],
    })
  }
}

/** A parsed replay request: exact deliveries, or a filter over failed/dropped ones. */
export type ReplayRequest = v.InferOutput<typeof ReplaySchema>

export interface ReplayResult {
  replayId: string
  replayed: number
  skipped: { source: string; messageId: string; destination: string; reason: string }[]
}

/**
 * Re-queues failed or dropped deliveries (the API's POST /admin/replay and the
 * dashboard's replay button both come here). Each row is claimed before it is
 * queued, so a delivery already being replayed or delivered is skipped, with why.
 */
export async function replayDeliveries(env: Bindings, request: ReplayRequest): Promise<ReplayResult> {
  const candidates = await findCandidates(env.LEDGER, request)
  const replayable = candidates.filter(
    (row) => row.body !== null && (row.status === 'failed' || row.status === 'dropped'),
  )
  const skipped = candidates
    .filter((row) => !replayable.includes(row))
    .map((row) => ({
      source: row.source,
      messageId: row.message_id,
      destination: row.destination,
      reason: row.status === 'failed' || row.status === 'dropped' ? 'event_not_kept' : `status_${row.status}`,
    }))
  const replayId = `replay-${crypto.randomUUID()}`
  const claimed = await claimForReplay(env.LEDGER, replayable, replayId, Date.now())
  try {
    await enqueueReplay(env, claimed, replayId)
  } catch (error) {
    await releaseReplay(env.LEDGER, claimed, replayId)
    throw error
  }
  logInfo({ msg: 'replay queued', count: claimed.length })
  return { replayId, replayed: claimed.length, skipped }
}

/** POST /admin/replay: re-queue failed or dropped deliveries by key or filter. */
export const replayRoutes = new Hono<AppEnv>().post('/replay', async (c) => {
  const parsed = v.safeParse(ReplaySchema, await readJsonBody(c.req.raw, { maxBytes: 200_000 }))
  if (!parsed.success)
    throw new RouterError(400, 'invalid_replay', 'invalid replay request', toInputIssues(parsed.issues))
  return c.json({ success: true, ...(await replayDeliveries(c.env, parsed.output)) })
})
