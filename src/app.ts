import { Hono } from 'hono'
import { alertRoutes } from './admin/alerts'
import { requireAdmin } from './admin/auth'
import { configRoutes } from './admin/config'
import { deliveryRoutes } from './admin/deliveries'
import { destinationRoutes } from './admin/destinations'
import { destinationTestRoutes } from './admin/destinations-test'
import { funnelRoutes } from './admin/funnel'
import { replayRoutes } from './admin/replay'
import { dashboardRoutes } from './dashboard/routes'
import type { AppEnv } from './env'
import { trackingApiCors } from './ingest/cors'
import { ingestRoutes } from './ingest/routes'
import { RouterError, renderError } from './lib/errors'

/** The router's HTTP surface. Each concern mounts its own small Hono app. */
export const app = new Hono<AppEnv>()

app.get('/health', (c) => c.json({ ok: true }))

app.use('/v1/*', trackingApiCors)
app.route('/', ingestRoutes)

const admin = new Hono<AppEnv>()
// First, so its pages can answer a signed-out browser with the login form (not a 401);
// its form actions guard themselves. Everything after the guard is the JSON admin API.
admin.route('/', dashboardRoutes)
admin.use('*', requireAdmin)
admin.route('/', configRoutes)
admin.route('/', deliveryRoutes)
admin.route('/', funnelRoutes)
admin.route('/', replayRoutes)
admin.route('/', destinationRoutes)
admin.route('/', alertRoutes)
admin.route('/', destinationTestRoutes)
app.route('/admin', admin)

app.notFound((c) =>
  new RouterError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`).toResponse(),
)
app.onError(renderError)
