import { Hono } from 'hono'
import * as v from 'valibot'
import type { AppEnv } from '../env'
import { RouterError, toInputIssues } from '../lib/errors'
import { limitParam } from '../lib/query-values'
import { listAlerts } from '../operations/alerts/incidents'

/** The history holds 1,000 alerts; a page of up to 200 is plenty for a person or a script. */
export const AlertsQuerySchema = v.object({
  limit: limitParam(200, 50),
})

/** GET /admin/alerts: incidents not yet resolved and the last alerts sent, with each target's answer. */
export const alertRoutes = new Hono<AppEnv>().get('/alerts', async (c) => {
  const parsed = v.safeParse(AlertsQuerySchema, c.req.query())
  if (!parsed.success)
    throw new RouterError(400, 'invalid_query', 'invalid query parameters', toInputIssues(parsed.issues))
  return c.json(await listAlerts(c.env, parsed.output.limit))
})
