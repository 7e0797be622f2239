import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { alertsReceiver } from './alerts'
import { dispatchToPartner, type Fault, type PartnerApp, tenantNamed } from './core'
import { PARTNER_EMULATORS } from './partners'

/** What the sandbox serves by path segment: the partners, and the alert receiver (sandbox/alerts.ts). */
const SERVED: Record<string, PartnerApp> = { ...PARTNER_EMULATORS, alerts: alertsReceiver }

/**
 * The partner sandbox: an emulator of each partner's real API, one origin.
 *
 *   /<partner>/...            the partner's API, default tenant (npm start)
 *   /t/<tenant>/<partner>/... the same for one test's private tenant
 *   /__sandbox/...            control: recorded requests, injected faults
 *
 * Point a destination's `apiBase` at `http://127.0.0.1:<port>/<partner>` (or the
 * tenant form); paths after that are the partner's real paths.
 */
export function createSandboxApp(): Hono {
  const app = new Hono()

  app.get('/__sandbox/health', (c) => c.json({ ok: true, partners: Object.keys(PARTNER_EMULATORS) }))

  app.get('/__sandbox/t/:tenant/requests', (c) => {
    const partner = c.req.query('partner')
    const requests = tenantNamed(c.req.param('tenant')).requests
    return c.json(partner ? requests.filter((request) => request.partner === partner) : requests)
  })

  /** Body: `{ partner, mode: 'status' | 'hang', status?, body?, retryAfter?, count? }` (count omitted = until cleared). */
  app.post('/__sandbox/t/:tenant/faults', async (c) => {
    const input = (await c.req.json()) as Partial<Fault> & { partner?: string; count?: number }
    if (!input.partner || !(input.partner in SERVED)) return c.json({ error: 'unknown partner' }, 400)
    const fault: Fault = {
      mode: input.mode === 'hang' ? 'hang' : 'status',
      remaining: input.count ?? Number.POSITIVE_INFINITY,
      ...(input.status !== undefined && { status: input.status }),
      ...(input.body !== undefined && { body: input.body }),
      ...(input.retryAfter !== undefined && { retryAfter: input.retryAfter }),
    }
    tenantNamed(c.req.param('tenant')).faults.set(input.partner, fault)
    return c.json({ ok: true })
  })

  app.delete('/__sandbox/t/:tenant/faults', (c) => {
    const partner = c.req.query('partner')
    const faults = tenantNamed(c.req.param('tenant')).faults
    if (partner) faults.delete(partner)
    else faults.clear()
    return c.json({ ok: true })
  })

  // Partner-specific controls (e.g. expire tokens), served by each emulator under /__control/<action>.
  app.post('/__sandbox/t/:tenant/:partner/:action', (c) => {
    const partner = c.req.param('partner')
    const emulator = SERVED[partner]
    if (!emulator) return c.json({ error: 'unknown partner' }, 404)
    const url = new URL(c.req.url)
    url.pathname = `/__control/${c.req.param('action')}`
    return emulator.fetch(new Request(url, c.req.raw), { tenant: tenantNamed(c.req.param('tenant')) })
  })

  app.all('*', (c) => {
    const url = new URL(c.req.url)
    const match = url.pathname.match(/^(?:\/t\/([^/]+))?\/([a-z-]+)(\/.*)?$/)
    const emulator: PartnerApp | undefined = match?.[2] ? SERVED[match[2]] : undefined
    if (!match?.[2] || !emulator) return c.json({ error: 'no such partner in the sandbox' }, 404)
    url.pathname = match[3] ?? '/'
    const request = new Request(url, c.req.raw)
    return dispatchToPartner(match[2], emulator, tenantNamed(match[1] ?? 'default'), request)
  })

  return app
}

export interface RunningSandbox {
  url: string
  close(): Promise<void>
}

/** Starts the sandbox on 127.0.0.1 (port 0 = any free port). */
export function startSandbox(port = 0): Promise<RunningSandbox> {
  const app = createSandboxApp()
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise((done) => {
            // Hung requests (injected 'hang' faults) would otherwise keep close() waiting forever.
            if ('closeAllConnections' in server) server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}
