import { Hono } from 'hono'
import * as v from 'valibot'
import { findDestination } from '../destinations/registry'
import type { AppEnv } from '../env'
import { readJsonBody } from '../lib/body'
import { systemClock } from '../lib/clock'
import { RouterError, toInputIssues } from '../lib/errors'
import { plainObject } from '../lib/objects'
import { replayDeliveries } from '../queue/replay'
import { BoundedText, DeliveryFilterEntries } from './filters'

const PairSchema = plainObject({
  source: BoundedText,
  messageId: BoundedText,
  destination: v.pipe(
    BoundedText,
    v.check((name) => findDestination(name) !== undefined, 'unknown destination (use the catalog name)'),
  ),
})

const EpochMillis = v.pipe(
  v.number('must be epoch milliseconds'),
  v.integer(),
  v.minValue(0),
  v.maxValue(8.64e15),
)

/**
 * A replay filter: at least one criterion, or `"all": true` alone to replay
 * every failed or dropped pair. Never an empty or malformed filter meaning "all".
 */
const ReplayFilterSchema = v.pipe(
  plainObject({
    ...DeliveryFilterEntries,
    status: v.optional(
      v.picklist(['failed', 'dropped'], 'only failed or dropped deliveries can be replayed'),
    ),
    since: v.optional(EpochMillis),
    until: v.optional(EpochMillis),
    all: v.optional(v.literal(true, 'all must be true when given')),
  }),
  v.check((filter) => {
    const criteria = Object.entries(filter).filter(([key, value]) => key !== 'all' && value !== undefined)
    return filter.all === true ? criteria.length === 0 : criteria.length > 0
  }, 'give at least one criterion, or {"all": true} alone to replay every failed or dropped delivery'),
)

const ReplaySchema = v.pipe(
  plainObject(
    {
      /** Exact deliveries, as listed by GET /admin/deliveries. */
      deliveries: v.optional(
        v.pipe(
          v.array(PairSchema, 'deliveries must be an array'),
          v.minLength(1, 'deliveries must not be empty'),
          v.maxLength(1000, 'at most 1000 deliveries per replay'),
        ),
      ),
      /** Or every failed/dropped delivery matching a filter. */
      filter: v.optional(ReplayFilterSchema),
      limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)), 1000),
    },
    'the replay request must be a JSON object',
  ),
  v.check(
    (input) => (input.deliveries === undefined) !== (input.filter === undefined),
    'give either deliveries or filter',
  ),
)

/** POST /admin/replay: re-queue failed or dropped deliveries by key or filter. */
export const replayRoutes = new Hono<AppEnv>().post('/replay', async (c) => {
  const parsed = v.safeParse(ReplaySchema, await readJsonBody(c.req.raw, { maxBytes: 200_000 }))
  if (!parsed.success)
    throw new RouterError(400, 'invalid_replay', 'invalid replay request', toInputIssues(parsed.issues))
  const { deliveries, filter, limit } = parsed.output
  const { all: _all, ...criteria } = filter ?? {}
  const result = await replayDeliveries(
    c.env,
    deliveries ? { pairs: deliveries, limit } : { filter: criteria, limit },
    systemClock,
  )
  return c.json({ success: true, ...result })
})
