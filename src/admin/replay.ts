import { Hono } from 'hono'
import * as v from 'valibot'
import type { LedgerRow } from '../delivery/ledger'
import type { AppEnv, Bindings } from '../env'
import { RouterError, toInputIssues } from '../errors'
import { enqueueEvents } from '../ingest/enqueue'
import { readJsonBody } from '../lib/body'
import { logInfo } from '../lib/log'
import type { SegmentEvent } from '../segment/schema'
import { type DeliveryFilter, whereClause } from './ledger-queries'

const KeySchema = v.object({ source: v.string(), messageId: v.string(), destination: v.string() })

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
    LEFT JOIN undelivered_events AS e ON e.source = d.source AND e.message_id = d.message_id`
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
 * Takes the candidates for this replay atomically: only rows still failed or
 * dropped are moved to retrying under the replay's id, so two replays of the
 * same delivery queue it once.
 */
async function claimForReplay(
  db: D1Database,
  rows: Candidate[],
  replayId: string,
  now: number,
): Promise<Candidate[]> {
  const claim = db.prepare(
    `UPDATE deliveries SET status = 'retrying', ingest_id = ?, replays = replays + 1, next_attempt_at = NULL,
       window_started_at = ?, updated_at = ?
     WHERE source = ? AND message_id = ? AND destination = ? AND status IN ('failed', 'dropped')
     RETURNING destination`,
  )
  if (rows.length === 0) return []
  const results = await db.batch(
    rows.map((row) => claim.bind(replayId, now, now, row.source, row.message_id, row.destination)),
  )
  return rows.filter((_, index) => (results[index]?.results.length ?? 0) > 0)
}

/** Gives rows back their previous state when the queue refused the replay. */
async function releaseReplay(db: D1Database, rows: Candidate[], replayId: string): Promise<void> {
  const release = db.prepare(
    `UPDATE deliveries SET status = ?, ingest_id = ?, replays = replays - 1
     WHERE source = ? AND message_id = ? AND destination = ? AND ingest_id = ?`,
  )
  await db.batch(
    rows.map((row) =>
      release.bind(row.status, row.ingest_id, row.source, row.message_id, row.destination, replayId),
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

/** POST /admin/replay: re-queue failed or dropped deliveries by key or filter. */
export const replayRoutes = new Hono<AppEnv>().post('/replay', async (c) => {
  const parsed = v.safeParse(ReplaySchema, await readJsonBody(c.req.raw, { maxBytes: 200_000 }))
  if (!parsed.success)
    throw new RouterError(400, 'invalid_replay', 'invalid replay request', toInputIssues(parsed.issues))
  const candidates = await findCandidates(c.env.LEDGER, parsed.output)
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
  const claimed = await claimForReplay(c.env.LEDGER, replayable, replayId, Date.now())
  try {
    await enqueueReplay(c.env, claimed, replayId)
  } catch (error) {
    await releaseReplay(c.env.LEDGER, claimed, replayId)
    throw error
  }
  logInfo({ msg: 'replay queued', count: claimed.length })
  return c.json({ success: true, replayId, replayed: claimed.length, skipped })
})
