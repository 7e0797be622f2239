import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/lib/clock'
import { autoPauseKey, openIncident } from '../../src/operations/alerts/incidents'
import { textsOf } from '../dashboard/html'
import { loginCookie } from '../dashboard/session'
import { ADMIN_TOKEN, putConfig, routerFetch, WEB } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'
import { alertsFor, cronRun, WEBHOOK_SECRET } from '../operations/alert-helpers'

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }

function putRaw(document: unknown): Promise<Response> {
  return routerFetch('/admin/config', { method: 'PUT', headers: admin, body: JSON.stringify(document) })
}

async function issuesOf(response: Response): Promise<{ path: string; message: string }[]> {
  expect(response.status).toBe(400)
  return ((await response.json()) as { issues: { path: string; message: string }[] }).issues
}

describe('the alerts config', () => {
  it('refuses what it cannot use, by path', async () => {
    const tenant = new SandboxTenant()
    const good = alertsFor(tenant)
    const cases: [unknown, string][] = [
      [[], 'alerts'],
      [
        { ...good, targets: [{ kind: 'webhook', url: 'not a url', secret: WEBHOOK_SECRET }] },
        'alerts.targets.0.url',
      ],
      [
        { ...good, targets: [{ kind: 'webhook', url: tenant.alertUrl('/x'), secret: 'short' }] },
        'alerts.targets.0.secret',
      ],
      [{ ...good, targets: [{ kind: 'pager', url: tenant.alertUrl('/x') }] }, 'alerts.targets.0'],
      [{ ...good, targets: [{ kind: 'slack', url: 'ftp://example.com/x' }] }, 'alerts.targets.0.url'],
      [{ ...good, rules: { failureRate: { threshold: 1.5 } } }, 'alerts.rules.failureRate.threshold'],
      [{ ...good, rules: { failureRate: { windowMinutes: 1 } } }, 'alerts.rules.failureRate.windowMinutes'],
      [{ ...good, rules: { failureRate: { threshhold: 0.2 } } }, 'alerts.rules.failureRate'],
      [{ ...good, rules: { capacity: [] } }, 'alerts.rules.capacity'],
      [{ ...good, quietMinutes: -1 }, 'alerts.quietMinutes'],
      [{ ...good, targets: [good.targets[1], good.targets[1]] }, 'alerts.targets'],
    ]
    await putConfig({ sources: [WEB] })
    const before = await env.CONFIG.get('config:v1')
    for (const [alerts, path] of cases) {
      const issues = await issuesOf(await putRaw({ sources: [WEB], alerts }))
      expect(
        issues.map((issue) => issue.path),
        JSON.stringify(alerts),
      ).toContain(path)
    }
    expect(await env.CONFIG.get('config:v1')).toBe(before)
  })

  it('redacts webhook secrets and Slack URLs on GET, and keeps them when a PUT sends them back', async () => {
    const tenant = new SandboxTenant()
    const alerts = alertsFor(tenant)
    await putConfig({ sources: [WEB], alerts })
    const shown = await (await routerFetch('/admin/config', { headers: admin })).json<{
      alerts: { targets: Record<string, unknown>[] }
    }>()
    expect(shown.alerts.targets).toEqual([
      { kind: 'webhook', name: 'ops', url: tenant.alertUrl('/ops'), secret: '<redacted>' },
      { kind: 'slack', name: 'chat', url: '<redacted>' },
    ])
    expect(JSON.stringify(shown)).not.toContain(WEBHOOK_SECRET)

    // Sent back as shown: the stored secrets stay.
    await putConfig(shown)
    expect(JSON.parse((await env.CONFIG.get('config:v1')) ?? '{}').alerts.targets).toEqual(alerts.targets)
    // A renamed target has no stored secret to keep: refused at its field, nothing stored.
    const renamed = { ...shown, alerts: { targets: [{ ...shown.alerts.targets[1], name: 'other' }] } }
    const paths = (await issuesOf(await putRaw(renamed))).map((issue) => issue.path)
    expect(new Set(paths)).toEqual(new Set(['alerts.targets.0.url']))
    expect(JSON.parse((await env.CONFIG.get('config:v1')) ?? '{}').alerts.targets).toEqual(alerts.targets)
  })
})

describe('GET /admin/alerts and the dashboard page', () => {
  it('lists open incidents and the last alerts with each target’s answer', async () => {
    const tenant = new SandboxTenant()
    await putConfig({ sources: [WEB], alerts: alertsFor(tenant) })
    const clock = new ManualClock(Date.UTC(2033, 5, 1))
    const key = autoPauseKey('listed', 'Calixa')
    await openIncident(
      env,
      {
        key,
        kind: 'auto_pause',
        target: 'listed:Calixa',
        title: 'Calixa (source listed) paused',
        detail: null,
      },
      clock.now(),
    )
    await cronRun(clock)

    const response = await routerFetch('/admin/alerts?limit=1', { headers: admin })
    expect(response.status).toBe(200)
    const body = await response.json<{ incidents: unknown[]; alerts: unknown[] }>()
    expect(body.incidents).toContainEqual(
      expect.objectContaining({ key, state: 'open', openedAt: clock.now() }),
    )
    expect(body.alerts).toEqual([
      expect.objectContaining({
        incidentKey: key,
        event: 'opened',
        status: 'sent',
        sentAt: clock.now(),
        results: [
          { target: 'ops', kind: 'webhook', status: 200 },
          { target: 'chat', kind: 'slack', status: 200 },
        ],
      }),
    ])

    // A browser asks for HTML; the same path without that is the JSON above.
    const page = await routerFetch('/admin/alerts', {
      headers: { Cookie: await loginCookie(), Accept: 'text/html' },
    })
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await page.text()
    expect(await textsOf(html, `tr[data-incident="${key}"]`)).toEqual([
      expect.stringContaining('Calixa (source listed) paused'),
    ])
    expect((await textsOf(html, 'tr[data-alert]'))[0]).toContain('ops: 200')
    expect(await textsOf(html, 'nav a[aria-current="page"]')).toEqual(['Alerts'])
    expect(html).not.toContain(tenant.alertUrl('/slack'))
  })

  it('refuses a bad limit with a 400 and needs the admin token', async () => {
    for (const limit of ['0', '201', 'abc', '1.5', '-1', '']) {
      const response = await routerFetch(`/admin/alerts?limit=${limit}`, { headers: admin })
      expect(response.status, limit).toBe(400)
      expect(await response.json()).toMatchObject({ error: 'invalid_query', issues: [{ path: 'limit' }] })
    }
    expect((await routerFetch('/admin/alerts')).status).toBe(401)
    // A signed-out browser gets the login form, as on every dashboard page.
    const page = await routerFetch('/admin/alerts', { headers: { Accept: 'text/html' } })
    expect(await page.text()).toContain('name="token"')
  })
})
