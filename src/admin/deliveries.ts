import { Hono } from 'hono'
import * as v from 'valibot'
import type { AppEnv } from '../env'
import { InvalidCursorError, Ledger } from '../ledger/ledger'
import { LEDGER_STATUSES } from '../ledger/state'
import { systemClock } from '../lib/clock'
import { RouterError, toInputIssues } from '../lib/errors'
import { limitParam, Millis } from '../lib/query-values'
import { BoundedText, DeliveryFilterEntries } from './filters'

const DAY_MS = 24 * 60 * 60 * 1000

/** A window must not end before it starts (said at `until`). */
function untilNotBeforeSince(window: { since?: number; until?: number }): boolean {
  return window.since === undefined || window.until === undefined || window.since <= window.until
}
const BACKWARDS_WINDOW = 'until must not be before since'

const ListQuerySchema = v.pipe(
  v.object({
    ...DeliveryFilterEntries,
    status: v.optional(v.picklist(LEDGER_STATUSES, 'unknown status')),
    since: v.optional(Millis),
    until: v.optional(Millis),
    limit: limitParam(500, 50),
    cursor: v.optional(v.pipe(v.string(), v.maxLength(2_000, 'cursor is not one this API returned'))),
  }),
  v.forward(v.partialCheck([['since'], ['until']], untilNotBeforeSince, BACKWARDS_WINDOW), ['until']),
)

const StatsQuerySchema = v.pipe(
  v.object({
    since: v.optional(Millis),
    until: v.optional(Millis),
    source: v.optional(BoundedText),
  }),
  v.forward(v.partialCheck([['since'], ['until']], untilNotBeforeSince, BACKWARDS_WINDOW), ['until']),
)

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
    try {
      // An empty cursor is no cursor: the first page.
      return c.json(await new Ledger(c.env).list(filter, limit, cursor || undefined))
    } catch (error) {
      if (error instanceof InvalidCursorError)
        throw new RouterError(400, 'invalid_query', error.message, [
          { path: 'cursor', message: 'invalid cursor' },
        ])
      throw error
    }
  })
  .get('/stats', async (c) => {
    const query = parseQuery(StatsQuerySchema, c.req.query())
    const until = query.until ?? systemClock.now()
    const since = query.since ?? until - DAY_MS
    const window = { since, until, ...(query.source !== undefined && { source: query.source }) }
    const ledger = new Ledger(c.env)
    const [counts, capacity] = await Promise.all([ledger.stats(window), ledger.capacity()])
    return c.json({ since, until, counts, capacity })
  })
