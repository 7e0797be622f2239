import { Hono } from 'hono'
import { requireAdmin } from './admin/auth'
import { configRoutes } from './admin/config'
import type { AppEnv } from './env'
import { RouterError, renderError } from './errors'

/** The router's HTTP surface. Each concern mounts its own small Hono app. */
export const app = new Hono<AppEnv>()

app.get('/health', (c) => c.json({ ok: true }))

const admin = new Hono<AppEnv>()
admin.use('*', requireAdmin)
admin.route('/', configRoutes)
app.route('/admin', admin)

app.notFound((c) =>
  new RouterError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`).toResponse(),
)
app.onError(renderError)
