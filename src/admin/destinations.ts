import { Hono } from 'hono'
import * as v from 'valibot'
import type { RouterConfig } from '../config/schema'
import { loadConfig } from '../config/store'
import type { AppEnv, Bindings } from '../env'
import { decodeBodyText, parseJsonText, readBodyBytes } from '../lib/body'
import { type Clock, systemClock } from '../lib/clock'
import { RouterError, toInputIssues } from '../lib/errors'
import { exactObject } from '../lib/objects'
import { destinationGate, type GateStatus, gateName } from '../operations/gate'
import { listAudit, recordAudit } from '../operations/log'
import { BoundedText } from './filters'

/** One destination of one source as GET /admin/destinations shows it. */
export interface DestinationView {
  id: string
  source: string
  destination: string
  enabled: boolean
  rateLimit: { requests: number; perSeconds: number } | null
  pauseAfterAuthFailures: number
  gate: GateStatus
}

/** Every configured destination with its gate's state (one gate call each, in parallel). */
export async function listDestinations(
  env: Bindings,
  config: RouterConfig,
  now: number,
): Promise<DestinationView[]> {
  const entries = config.sources.flatMap((source) =>
    Object.entries(source.destinations).map(([destination, settings]) => ({
      source: source.name,
      destination,
      settings,
    })),
  )
  return Promise.all(
    entries.map(async ({ source, destination, settings }) => ({
      id: gateName(source, destination),
      source,
      destination,
      enabled: settings.enabled,
      rateLimit: settings.rateLimit,
      pauseAfterAuthFailures: settings.pauseAfterAuthFailures,
      gate: await destinationGate(env, source, destination).status(now),
    })),
  )
}

/** The source and destination an id names, when both are configured. */
function findConfigured(config: RouterConfig, id: string): { source: string; destination: string } {
  const colon = id.indexOf(':')
  const source = config.sources.find((candidate) => candidate.name === id.slice(0, colon))
  const destination = id.slice(colon + 1)
  if (colon < 0 || !source || !Object.hasOwn(source.destinations, destination))
    throw new RouterError(
      404,
      'unknown_destination',
      `no configured destination "${id}" (ids are <source>:<destination>)`,
    )
  return { source: source.name, destination }
}

const PauseSchema = exactObject(
  { reason: v.optional(v.pipe(BoundedText, v.minLength(1, 'reason must not be empty'))) },
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

/** Pauses a destination: its pairs are parked from now on, none is sent or retried. */
export async function pauseDestination(
  env: Bindings,
  id: string,
  actor: string,
  reason: string | undefined,
  clock: Clock,
): Promise<GateStatus> {
  const { source, destination } = findConfigured(await loadConfig(env), id)
  const now = clock.now()
  const { status, changed } = await destinationGate(env, source, destination).pause(
    now,
    actor,
    reason ?? 'paused by an operator',
  )
  if (changed)
    await recordAudit(env, {
      at: now,
      actor,
      action: 'destination.paused',
      target: id,
      detail: reason ?? null,
    })
  return status
}

/** Resumes a destination; what was parked is sent again by a paced replay of its paused pairs. */
export async function resumeDestination(
  env: Bindings,
  id: string,
  actor: string,
  clock: Clock,
): Promise<GateStatus> {
  const { source, destination } = findConfigured(await loadConfig(env), id)
  const now = clock.now()
  const { status, changed } = await destinationGate(env, source, destination).resume(now)
  if (changed)
    await recordAudit(env, { at: now, actor, action: 'destination.resumed', target: id, detail: null })
  return status
}

const AuditQuerySchema = v.object({
  limit: v.optional(
    v.pipe(
      BoundedText,
      v.transform(Number),
      v.integer('limit must be an integer'),
      v.minValue(1),
      v.maxValue(500),
    ),
    '100',
  ),
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
    await readOptionalBody(c.req.raw, exactObject({}, 'the request body must be a JSON object'))
    const gate = await resumeDestination(c.env, c.req.param('id'), 'admin', systemClock)
    return c.json({ success: true, gate })
  })
  .get('/audit', async (c) => {
    const parsed = v.safeParse(AuditQuerySchema, c.req.query())
    if (!parsed.success)
      throw new RouterError(400, 'invalid_query', 'invalid audit query', toInputIssues(parsed.issues))
    return c.json({ entries: await listAudit(c.env, parsed.output.limit, parsed.output.target) })
  })
