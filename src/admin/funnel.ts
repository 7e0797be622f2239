import { Hono } from 'hono'
import { loadConfig } from '../config/store'
import { DESTINATIONS } from '../destinations/registry'
import type { AppEnv } from '../env'
import {
  configuredDestinations,
  funnelQuerySchema,
  loadFunnelReport,
  readFunnelQuery,
} from '../ledger/funnel-report'
import { Ledger } from '../ledger/ledger'
import { systemClock } from '../lib/clock'
import { RouterError } from '../lib/errors'

const FunnelQuerySchema = funnelQuerySchema(DESTINATIONS.map((definition) => definition.name))

/** GET /admin/funnel: received → filtered / dropped → attempted → delivered / retrying / failed, per destination. */
export const funnelRoutes = new Hono<AppEnv>().get('/funnel', async (c) => {
  const read = readFunnelQuery(FunnelQuerySchema, c.req.query(), systemClock.now())
  if (!read.ok) throw new RouterError(400, 'invalid_query', 'invalid query parameters', read.issues)
  const listed = configuredDestinations(await loadConfig(c.env), read.query.source)
  return c.json(await loadFunnelReport(new Ledger(c.env), read.query, read.window, listed))
})
