import { Hono } from 'hono'
import * as v from 'valibot'
import type { AppEnv } from '../env'
import { RouterError, toInputIssues } from '../lib/errors'
import { queryDeliveries, queryStats } from './ledger-queries'

const Status = v.picklist(['delivered', 'dropped', 'retrying', 'failed'], 'unknown status')
const Millis = v.pipe(
  v.string(),
  v.transform((value) => (/^\d+$/.test(value) ? Number(value) : Date.parse(value))),
  v.number('must be epoch milliseconds or an ISO-8601 date'),
  v.check((value) => Number.isFinite(value), 'must be epoch milliseconds or an ISO-8601 date'),
)

export const DeliveryFilterSchema = v.object({
  source: v.optional(v.string()),
  messageId: v.optional(v.string()),
  userId: v.optional(v.string()),
  destination: v.optional(v.string()),
  status: v.optional(Status),
  reason: v.optional(v.string()),
  since: v.optional(Millis),
  until: v.optional(Millis),
})

const ListQuerySchema = v.object({
  ...DeliveryFilterSchema.entries,
  limit: v.optional(
    v.pipe(
      v.string(),
      v.transform(Number),
      v.integer('limit must be an integer'),
      v.minValue(1),
      v.maxValue(500),
    ),
    '50',
  ),
  cursor: v.optional(v.string()),
})

const StatsQuerySchema = v.object({
  since: v.optional(Millis),
  until: v.optional(Millis),
  source: v.optional(v.string()),
})

function parseQuery<S extends v.GenericSchema>(schema: S, query: Record<string, string>): v.InferOutput<S> {
  const result = v.safeParse(schema, query)
  if (!result.success)
    throw new RouterError(400, 'invalid_query', 'invalid query parameters', toInputIssues(result.issues))
  return result.output
}

/** GET /admin/deliveries and GET /admin/stats: the ledger, read. */
export const deliveryRoutes = new Hono<AppEnv>()
  .get('/deliveries', async (c) => {
    const { limit, cursor, ...filter } = parseQuery(ListQuerySchema, c.req.query())
    return c.json(await queryDeliveries(c.env.LEDGER, filter, limit, cursor))
  })
  .get('/stats', async (c) => {
    const query = parseQuery(StatsQuerySchema, c.req.query())
    const until = query.until ?? Date.now()
    const since = query.since ?? until - 24 * 60 * 60 * 1000
    return c.json(
      await queryStats(c.env.LEDGER, { since, until, ...(query.source && { source: query.source }) }),
    )
  })
