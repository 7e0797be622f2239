import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { ManualClock } from '../../src/lib/clock'
import { autoPauseKey, openIncident, resolveIncident } from '../../src/operations/alerts/incidents'
import type { IncidentInput } from '../../src/operations/alerts/types'
import { listAudit } from '../../src/operations/log'
import { putConfig, WEB } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'
import {
  adminAlerts,
  alertsFor,
  announcements,
  cronRun,
  verifySignature,
  WEBHOOK_SECRET,
  webhookBodies,
} from './alert-helpers'

const MINUTE = 60_000

/** What the lead's destination gate reports when it pauses a destination on its own. */
function autoPause(source: string, destination = 'CrowdPower'): IncidentInput {
  return {
    key: autoPauseKey(source, destination),
    kind: 'auto_pause',
    target: `${source}:${destination}`,
    title: `${destination} (source ${source}) paused automatically`,
    detail: '20 consecutive failures',
  }
}

/** A clock of its own per test, a day apart, so one test's minute never counts in another's cap. */
let day = 0
function testClock(): ManualClock {
  day += 1
  return new ManualClock(Date.UTC(2031, 0, day, 12))
}

describe('openIncident and resolveIncident (the automatic pause)', () => {
  it('sends one alert per incident and one recovery, across many reports and cron runs', async () => {
    const tenant = new SandboxTenant()
    await putConfig({ sources: [WEB], alerts: alertsFor(tenant, { quietMinutes: 10 }) })
    const clock = testClock()
    const incident = autoPause('pause-a')

    expect(await openIncident(env, incident, clock.now())).toBe('opened')
    expect(await openIncident(env, incident, clock.now())).toBe('already_open')
    // Nothing leaves before the cron: opening is one write, never a wait on a target.
    expect(await tenant.receivedAlerts()).toEqual([])
    for (let run = 0; run < 3; run += 1) {
      await cronRun(clock)
      clock.advance(MINUTE)
      expect(await openIncident(env, incident, clock.now())).toBe('already_open')
    }
    expect(await announcements(tenant)).toEqual([`alert.opened ${incident.key}`])
    expect(await tenant.receivedAlerts('/slack')).toHaveLength(1)

    expect(await resolveIncident(env, incident.key, clock.now())).toBe('clearing')
    expect(await resolveIncident(env, incident.key, clock.now())).toBe('clearing')
    // Clear, but not yet for the quiet period: no recovery yet.
    for (let run = 0; run < 9; run += 1) {
      await cronRun(clock)
      clock.advance(MINUTE)
    }
    expect(await announcements(tenant)).toEqual([`alert.opened ${incident.key}`])
    for (let run = 0; run < 3; run += 1) {
      await cronRun(clock)
      clock.advance(MINUTE)
    }
    expect(await announcements(tenant)).toEqual([
      `alert.opened ${incident.key}`,
      `alert.resolved ${incident.key}`,
    ])
    expect(await tenant.receivedAlerts('/slack')).toHaveLength(2)
    expect(await resolveIncident(env, incident.key, clock.now())).toBe('not_open')

    // Every change of state is in the audit list, by the router, at the reporter's time.
    const audit = await listAudit(env, 20, incident.key)
    expect(audit.map((entry) => entry.action).reverse()).toEqual([
      'alert.opened',
      'alert.clearing',
      'alert.resolved',
    ])
    expect(audit.every((entry) => entry.actor === 'router')).toBe(true)
    expect(audit.at(-1)?.at).toBe(Date.UTC(2031, 0, day, 12))
  })

  it('signs each webhook so a receiver can verify it and refuse replays', async () => {
    const tenant = new SandboxTenant()
    await putConfig({ sources: [WEB], alerts: alertsFor(tenant) })
    const clock = testClock()
    await openIncident(env, autoPause('pause-sig'), clock.now())
    await cronRun(clock)

    const [received] = await tenant.receivedAlerts('/ops')
    expect(received).toBeDefined()
    if (!received) return
    expect(received.headers['content-type']).toBe('application/json')
    expect(received.headers['x-router-timestamp']).toBe(String(Math.floor(clock.now() / 1000)))
    expect(await verifySignature(received, WEBHOOK_SECRET)).toBe(true)
    // A changed byte, another secret or another timestamp does not verify.
    expect(
      await verifySignature(
        { ...received, text: received.text.replace('pause-sig', 'pause-siG') },
        WEBHOOK_SECRET,
      ),
    ).toBe(false)
    expect(await verifySignature(received, `${WEBHOOK_SECRET}x`)).toBe(false)
    const replayed = { ...received, headers: { ...received.headers, 'x-router-timestamp': '1' } }
    expect(await verifySignature(replayed, WEBHOOK_SECRET)).toBe(false)
    expect(JSON.parse(received.text)).toMatchObject({
      type: 'alert.opened',
      incident: 'auto_pause:pause-sig:CrowdPower',
      kind: 'auto_pause',
      title: 'CrowdPower (source pause-sig) paused automatically',
      detail: '20 consecutive failures',
      sentAt: clock.now(),
    })
  })

  it('sends Slack incoming-webhook JSON: text, and the same text as a section block', async () => {
    const tenant = new SandboxTenant()
    await putConfig({ sources: [WEB], alerts: alertsFor(tenant) })
    const clock = testClock()
    await openIncident(env, { ...autoPause('pause-slack'), title: 'Calixa <!channel> & co' }, clock.now())
    await cronRun(clock)

    const [slack] = await tenant.receivedAlerts('/slack')
    const body = JSON.parse(slack?.text ?? 'null')
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text'])
    expect(body.text).toContain(':rotating_light:')
    // Markup from config names is escaped: no @channel ping by accident.
    expect(body.text).toContain('Calixa &lt;!channel&gt; &amp; co')
    expect(body.text).toContain('`auto_pause:pause-slack:CrowdPower`')
    expect(body.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: body.text } }])
    // Slack webhooks are not signed: the URL is the credential.
    expect(slack?.headers['x-router-signature']).toBeUndefined()
  })

  it('a relapse within the quiet period is the same incident: no second alert, one recovery', async () => {
    const tenant = new SandboxTenant()
    await putConfig({ sources: [WEB], alerts: alertsFor(tenant, { quietMinutes: 5 }) })
    const clock = testClock()
    const incident = autoPause('flappy')
    // Paused, resumed, paused again, every two minutes for a while.
    await openIncident(env, incident, clock.now())
    for (let flap = 0; flap < 4; flap += 1) {
      await cronRun(clock)
      clock.advance(2 * MINUTE)
      expect(await resolveIncident(env, incident.key, clock.now())).toBe('clearing')
      await cronRun(clock)
      clock.advance(2 * MINUTE)
      expect(await openIncident(env, incident, clock.now())).toBe('relapsed')
    }
    expect(await announcements(tenant)).toEqual([`alert.opened ${incident.key}`])
    await resolveIncident(env, incident.key, clock.now())
    for (let run = 0; run < 8; run += 1) {
      await cronRun(clock)
      clock.advance(MINUTE)
    }
    // Past the quiet period it is a new incident, announced again.
    expect(await openIncident(env, incident, clock.now())).toBe('opened')
    await cronRun(clock)
    expect(await announcements(tenant)).toEqual([
      `alert.opened ${incident.key}`,
      `alert.resolved ${incident.key}`,
      `alert.opened ${incident.key}`,
    ])
    const actions = (await listAudit(env, 50, incident.key)).map((entry) => entry.action)
    expect(actions.filter((action) => action === 'alert.relapsed')).toHaveLength(4)
  })

  it('holds a storm to maxPerMinute: the rest arrive as one summary', async () => {
    const tenant = new SandboxTenant()
    await putConfig({ sources: [WEB], alerts: alertsFor(tenant, { maxPerMinute: 3 }) })
    const clock = testClock()
    const sources = Array.from({ length: 8 }, (_, index) => `storm-${index}`)
    for (const source of sources) await openIncident(env, autoPause(source), clock.now())
    await cronRun(clock)
    await cronRun(clock)

    const bodies = await webhookBodies(tenant)
    expect(bodies.map((body) => body.type)).toEqual(['alert.opened', 'alert.opened', 'alert.summary'])
    expect(bodies[2]?.title).toMatch(/^6 more alerts/)
    for (const source of sources.slice(2)) expect(String(bodies[2]?.detail)).toContain(`source ${source}`)
    const { alerts } = await adminAlerts()
    const summary = alerts.find((alert) => alert.event === 'summary')
    expect(
      alerts.filter((alert) => alert.status === 'summarized' && alert.summaryId === summary?.id),
    ).toHaveLength(6)

    // The next minute has room again, and nothing is left to send.
    clock.advance(MINUTE)
    await cronRun(clock)
    expect(await tenant.receivedAlerts('/ops')).toHaveLength(3)
  })

  it('records a failing target in the history, never throws, and logs no URL', async () => {
    const tenant = new SandboxTenant()
    const slackUrl = 'http://127.0.0.1:9/services/T000/B000/slack-token-secret'
    await putConfig({
      sources: [WEB],
      alerts: {
        targets: [
          { kind: 'webhook', name: 'ops', url: tenant.alertUrl('/ops'), secret: WEBHOOK_SECRET },
          { kind: 'slack', url: slackUrl },
        ],
      },
    })
    await tenant.fault('alerts', { status: 500 })
    const logs = [vi.spyOn(console, 'log'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')]
    const clock = testClock()
    await openIncident(env, autoPause('broken-targets'), clock.now())
    await expect(cronRun(clock)).resolves.toBeUndefined()

    const { alerts } = await adminAlerts()
    const alert = alerts.find((item) => item.incidentKey === 'auto_pause:broken-targets:CrowdPower')
    expect(alert).toMatchObject({ status: 'failed', sentAt: clock.now() })
    expect(alert?.results).toEqual([
      { target: 'ops', kind: 'webhook', status: 500 },
      { target: 'slack #2', kind: 'slack', error: expect.any(String) },
    ])
    const written = logs.flatMap((spy) => spy.mock.calls.map((call) => call.join(' '))).join('\n')
    expect(written).toContain('"outcome":"failed"')
    expect(written).not.toContain('slack-token-secret')
    expect(written).not.toContain(tenant.name)
    expect(JSON.stringify(alerts)).not.toContain('slack-token-secret')
    // A failed send is not retried into a storm: one attempt, recorded.
    clock.advance(MINUTE)
    await cronRun(clock)
    expect(await tenant.requests('alerts')).toHaveLength(1)
    await tenant.clearFaults()
    vi.restoreAllMocks()
  })

  it('records nothing when the config has no alerts, or the rule is off', async () => {
    await putConfig({ sources: [WEB] })
    const clock = testClock()
    expect(await openIncident(env, autoPause('no-alerts'), clock.now())).toBe('disabled')
    expect(await resolveIncident(env, autoPauseKey('no-alerts', 'CrowdPower'), clock.now())).toBe('disabled')
    const tenant = new SandboxTenant()
    await putConfig({
      sources: [WEB],
      alerts: alertsFor(tenant, { rules: { autoPause: { enabled: false } } }),
    })
    expect(await openIncident(env, autoPause('rule-off'), clock.now())).toBe('disabled')
    const { incidents } = await adminAlerts()
    expect(incidents.map((incident) => incident.key)).not.toContain('auto_pause:rule-off:CrowdPower')
  })
})
