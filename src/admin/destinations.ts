import { Hono } from 'hono'
import * as v from 'valibot'
import { loadConfig } from '../config/store'
import type { AppEnv } from '../env'
import { decodeBodyText, parseJsonText, readBodyBytes } from '../lib/body'
import { systemClock } from '../lib/clock'
import { RouterError, toInputIssues } from '../lib/errors'
import { exactObject } from '../lib/objects'
import { limitParam } from '../lib/query-values'
import { wholeNumber } from '../lib/whole-number'
import { listDestinations, pauseDestination } from '../operations/destinations'
import { listAudit } from '../operations/log'
import { MAX_REPLAY_RATE, resumeDestination } from '../queue/replay'
import { BoundedText } from './filters'

const PauseSchema = exactObject(
  { reason: v.optional(v.pipe(BoundedText, v.minLength(1, 'reason must not be empty'))) },
  'the request body must be a JSON object',
)

/** A resume may set the pace of sending what was parked (pairs per second). */
const ResumeSchema = exactObject(
  {
    rate: v.optional(wholeNumber('rate', 1, MAX_REPLAY_RATE)),
  },
  'the request body must be a JSON object',
)

/** An optional small JSON object body: empty means `{}`. */
async function readOptionalBody<T>(request: Request, schema: v.GenericSchema<unknown, T>): Promise<T> {
  const bytes = await readBodyBytes(request, { maxBytes: 10_000 })
  const text = bytes.byteLength === 0 ? '' : decodeBodyText(bytes)
  const parsed = v.safeParse(schema, text.trim() === '' ? {} : parseJsonText(text))
  if (!parsed.success)
    throw new RouterError(400, 'invalid_request', 'invalid request body', toInputIssues(parsed.issues))
  return parsed.output
}

const AuditQuerySchema = v.object({
  limit: limitParam(500, 100),
  target: v.optional(BoundedText),
})

/** The destinations' state, pause and resume, and the audit list (mounted under /admin). */
export const destinationRoutes = new Hono<AppEnv>()
  .get('/destinations', async (c) =>
    c.json({ destinations: await listDestinations(c.env, await loadConfig(c.env), systemClock.now()) }),
  )
  .post('/destinations/:id/pause', async (c) => {
    const { reason } = await readOptionalBody(c.req.raw, PauseSchema)
    const gate = await pauseDestination(c.env, c.req.param('id'), 'admin', reason, systemClock)
    return c.json({ success: true, gate })
  })
  .post('/destinations/:id/resume', async (c) => {
    const { rate } = await readOptionalBody(c.req.raw, ResumeSchema)
    const resumed = await resumeDestination(
      c.env,
      c.req.param('id'),
      { actor: 'admin', ...(rate !== undefined && { rate }) },
      systemClock,
    )
    return c.json({ success: true, ...resumed })
  })
  .get('/audit', async (c) => {
    const parsed = v.safeParse(AuditQuerySchema, c.req.query())
    if (!parsed.success)
      throw new RouterError(400, 'invalid_query', 'invalid audit query', toInputIssues(parsed.issues))
    return c.json({ entries: await listAudit(c.env, parsed.output.limit, parsed.output.target) })
  })
