import { Hono } from 'hono'
import * as v from 'valibot'
import { findDestination } from '../destinations/registry'
import type { AppEnv } from '../env'
import { type LedgerStatus, REPLAYABLE_STATUSES } from '../ledger/state'
import { readJsonBody } from '../lib/body'
import { systemClock } from '../lib/clock'
import { RouterError, toInputIssues } from '../lib/errors'
import { plainObject } from '../lib/objects'
import { limitParam } from '../lib/query-values'
import {
  cancelReplayJob,
  getReplayJob,
  listReplayJobs,
  MAX_REPLAY_RATE,
  planReplay,
  type ReplayJob,
  replayDeliveries,
  startReplayJob,
} from '../queue/replay'
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
      v.picklist(
        ['failed', 'dropped', 'delivered'],
        'only failed, dropped or (with includeDelivered) delivered deliveries can be replayed',
      ),
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
      /** Exact deliveries, as listed by GET /admin/deliveries: replayed at once. */
      deliveries: v.optional(
        v.pipe(
          v.array(PairSchema, 'deliveries must be an array'),
          v.minLength(1, 'deliveries must not be empty'),
          v.maxLength(1000, 'at most 1000 deliveries per replay'),
        ),
      ),
      /** Or every delivery matching a filter: a paced job. */
      filter: v.optional(ReplayFilterSchema),
      limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000))),
      /** Only the plan: what would be resent per destination; nothing changes. */
      dryRun: v.optional(v.boolean('dryRun must be true or false')),
      /** The explicit ask to resend deliveries that were delivered; never without it. */
      includeDelivered: v.optional(v.boolean('includeDelivered must be true or false')),
      /** A job's pace in deliveries per second. */
      rate: v.optional(
        v.pipe(
          v.number('rate must be a number of deliveries per second'),
          v.integer('rate must be a whole number of deliveries per second'),
          v.minValue(1, 'rate must be at least 1 per second'),
          v.maxValue(MAX_REPLAY_RATE, `rate must be at most ${MAX_REPLAY_RATE} per second`),
        ),
      ),
    },
    'the replay request must be a JSON object',
  ),
  v.check(
    (input) => (input.deliveries === undefined) !== (input.filter === undefined),
    'give either deliveries or filter',
  ),
  v.forward(
    v.partialCheck(
      [['limit'], ['filter']],
      (input) => input.limit === undefined || input.filter === undefined,
      'limit applies to deliveries; a replay by filter resends all it plans, paced by rate',
    ),
    ['limit'],
  ),
  v.forward(
    v.partialCheck(
      [['rate'], ['deliveries']],
      (input) => input.rate === undefined || input.deliveries === undefined,
      'rate applies to a replay by filter; exact deliveries are queued at once',
    ),
    ['rate'],
  ),
  v.forward(
    v.partialCheck(
      [['filter', 'status'], ['includeDelivered']],
      (input) => input.filter?.status !== 'delivered' || input.includeDelivered === true,
      'delivered deliveries are replayed only with "includeDelivered": true',
    ),
    ['filter', 'status'],
  ),
)

/** `/admin/replays?limit=`: how many of the latest jobs. */
const JobsQuerySchema = v.object({
  limit: limitParam(100, 20),
})

/** A job id as this API hands it out (`replay-` and a UUID). */
const JobIdSchema = v.pipe(
  v.string(),
  v.regex(/^replay-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'not a replay job id'),
)

function parseJobId(id: string): string {
  const parsed = v.safeParse(JobIdSchema, id)
  if (!parsed.success)
    throw new RouterError(
      400,
      'invalid_replay_id',
      'invalid replay job id',
      toInputIssues(parsed.issues, 'id'),
    )
  return parsed.output
}

function notFound(id: string): RouterError {
  return new RouterError(404, 'replay_not_found', `no replay job ${id}`)
}

/** Failed and dropped; delivered too only when asked explicitly; just the one status a filter names. */
function statusesFor(status: LedgerStatus | undefined, includeDelivered: boolean): LedgerStatus[] {
  if (status !== undefined) return [status]
  return [...REPLAYABLE_STATUSES, ...(includeDelivered ? (['delivered'] as const) : [])]
}

/** What a cancelled job still does, said wherever the job is shown. */
function withNote(job: ReplayJob) {
  return job.state === 'cancelled'
    ? { ...job, note: 'cancelled: nothing further is taken; deliveries already queued are still delivered' }
    : job
}

/**
 * POST /admin/replay: exact deliveries (at once) or a filter (a paced job);
 * with `dryRun`, only the plan. GET /admin/replays, GET /admin/replays/:id and
 * POST /admin/replays/:id/cancel: the jobs.
 */
export const replayRoutes = new Hono<AppEnv>()
  .post('/replay', async (c) => {
    const parsed = v.safeParse(ReplaySchema, await readJsonBody(c.req.raw, { maxBytes: 200_000 }))
    if (!parsed.success)
      throw new RouterError(400, 'invalid_replay', 'invalid replay request', toInputIssues(parsed.issues))
    const { deliveries, filter, limit, dryRun, includeDelivered = false, rate } = parsed.output
    const { all: _all, status, ...criteria } = filter ?? {}
    const statuses = statusesFor(status, includeDelivered)
    if (deliveries) {
      if (dryRun) {
        const plan = await planReplay(c.env, { pairs: deliveries }, statuses, systemClock)
        return c.json({ success: true, dryRun: true, plan })
      }
      const result = await replayDeliveries(
        c.env,
        { pairs: deliveries, limit: limit ?? 1000, statuses, actor: 'admin' },
        systemClock,
      )
      return c.json({ success: true, ...result })
    }
    if (dryRun) {
      const plan = await planReplay(c.env, { filter: criteria }, statuses, systemClock)
      return c.json({ success: true, dryRun: true, plan })
    }
    const { jobId, planned } = await startReplayJob(
      c.env,
      { filter: criteria, statuses, ...(rate !== undefined && { rate }), actor: 'admin' },
      systemClock,
    )
    return c.json({ success: true, jobId, plan: planned, progress: `/admin/replays/${jobId}` }, 202)
  })
  .get('/replays', async (c) => {
    const parsed = v.safeParse(JobsQuerySchema, c.req.query())
    if (!parsed.success)
      throw new RouterError(400, 'invalid_query', 'invalid query', toInputIssues(parsed.issues))
    const jobs = await listReplayJobs(c.env, parsed.output.limit)
    return c.json({ success: true, replays: jobs.map(withNote) })
  })
  .get('/replays/:id', async (c) => {
    const id = parseJobId(c.req.param('id'))
    const job = await getReplayJob(c.env, id)
    if (!job) throw notFound(id)
    return c.json({ success: true, replay: withNote(job) })
  })
  .post('/replays/:id/cancel', async (c) => {
    const id = parseJobId(c.req.param('id'))
    const result = await cancelReplayJob(c.env, id, 'admin', systemClock)
    if (!result) throw notFound(id)
    if (!result.cancelled)
      throw new RouterError(409, 'replay_not_running', `replay job ${id} is already ${result.job.state}`)
    return c.json({ success: true, replay: withNote(result.job) })
  })
