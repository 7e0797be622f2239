import { describe, expect, it } from 'vitest'
import type { DestinationFunnel } from '../../src/ledger/funnel'
import type { FunnelReport } from '../../src/ledger/funnel-report'
import type { LedgerRow } from '../../src/ledger/types'
import type { SegmentEvent } from '../../src/segment/schema'
import { attributesOf, textsOf } from '../dashboard/html'
import { loginCookie } from '../dashboard/session'
import { consume } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { ADMIN_TOKEN, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

/**
 * GET /admin/funnel and its dashboard page over real deliveries: the sandbox's
 * partners answer, the real ledger records, and the funnel must say what the
 * ledger's rows say, without showing who the events were about.
 */

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }
const USER_ID = 'funnel-user-7f3a2c'
const STRANGER = 'stranger-9b2c41'
const EMAIL = 'ada.funnel@example.com'
const TRAIT = 'plan-secret-9xq4'
const PROPERTY = 'prop-secret-55k1'

/** Drops routing makes before a destination sees the event (the test's own list, as an oracle). */
const ROUTING = new Set([
  'filtered',
  'consent_denied',
  'consent_missing',
  'integrations_off',
  'unknown_destination',
  'destination_removed',
])

function event(fields: Record<string, unknown>): SegmentEvent {
  const now = new Date().toISOString()
  return { messageId: messageId('funnel'), timestamp: now, receivedAt: now, ...fields } as SegmentEvent
}

async function getJson<T>(path: string): Promise<{ status: number; body: T; text: string }> {
  const response = await routerFetch(path, { headers: admin })
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text) as T, text }
}

/** Every row of the deliveries list for this query, page after page (small pages, so paging is exercised). */
async function allRows(query: URLSearchParams): Promise<LedgerRow[]> {
  const rows: LedgerRow[] = []
  let cursor: string | null = null
  do {
    const params = new URLSearchParams(query)
    params.set('limit', '3')
    if (cursor) params.set('cursor', cursor)
    const page = await getJson<{ deliveries: LedgerRow[]; nextCursor: string | null }>(
      `/admin/deliveries?${params}`,
    )
    expect(page.status).toBe(200)
    rows.push(...page.body.deliveries)
    cursor = page.body.nextCursor
  } while (cursor)
  return rows
}

/** A mixed workload for Crisp (every stage) and CrowdPower, through the real consumer. */
async function mixedWorkload() {
  const tenant = new SandboxTenant()
  const destinations = sandboxDestinations(tenant)
  const source = await configureSource({
    Crisp: {
      ...destinations.Crisp,
      unknownUserGraceSeconds: 0,
      filters: [{ name: 'no-test-events', action: 'drop', events: ['Test *'] }],
    },
    CrowdPower: destinations.CrowdPower,
  })
  const message = (events: SegmentEvent[]) => ({
    source: source.name,
    ingestId: `ingest-${crypto.randomUUID()}`,
    events,
  })
  const identify = () => event({ type: 'identify', userId: USER_ID, traits: { email: EMAIL, plan: TRAIT } })
  const ids = {
    delivered: identify(),
    unknownUser: event({ type: 'track', userId: STRANGER, event: 'Report Exported' }),
    unsupported: event({ type: 'page', userId: USER_ID, name: 'Pricing', properties: { secret: PROPERTY } }),
    filtered: event({
      type: 'track',
      userId: USER_ID,
      event: 'Test Signup',
      properties: { secret: PROPERTY },
    }),
    failed: identify(),
    retrying: identify(),
  }
  await consume(message([ids.delivered, ids.unknownUser, ids.unsupported, ids.filtered]))
  // Crisp refuses the next identify for good, echoing the email and the userId in its answer.
  await tenant.fault('crisp', {
    status: 400,
    body: { error: true, reason: 'invalid_data', data: { message: `bad email ${EMAIL} for ${USER_ID}` } },
  })
  await consume(message([ids.failed]))
  await tenant.fault('crisp', { status: 503 })
  await consume(message([ids.retrying]))
  await tenant.clearFaults()
  return { source, ids }
}

function byName(report: FunnelReport, name: string): DestinationFunnel {
  const funnel = report.destinations.find((item) => item.destination === name)
  if (!funnel) throw new Error(`no funnel for ${name}`)
  return funnel
}

describe('GET /admin/funnel', () => {
  it('tells what the ledger rows tell, stage by stage, with redacted samples', async () => {
    const { source, ids } = await mixedWorkload()
    const { status, body: report, text } = await getJson<FunnelReport>(`/admin/funnel?source=${source.name}`)
    expect(status, text).toBe(200)
    expect(report.source).toBe(source.name)
    expect(report.until - report.since).toBe(24 * 60 * 60 * 1000)
    expect(report.destinations.map((funnel) => funnel.destination)).toEqual(['Crisp', 'CrowdPower'])

    const crisp = byName(report, 'Crisp')
    const reasons = (stage: keyof DestinationFunnel) =>
      (crisp[stage] as DestinationFunnel['failed']).reasons.map((entry) => [entry.reason, entry.count])
    expect(crisp).toMatchObject({
      received: 6,
      filtered: { count: 1 },
      dropped: { count: 2 },
      parked: { count: 0 },
      attempted: 3,
      delivered: { count: 1 },
      retrying: { count: 1 },
      failed: { count: 1 },
    })
    expect(reasons('filtered')).toEqual([['filtered', 1]])
    expect(reasons('dropped').sort()).toEqual([
      ['unknown_user', 1],
      ['unsupported_call', 1],
    ])

    // The same numbers from the rows themselves, paged through the deliveries list over the same window.
    const rows = await allRows(
      new URLSearchParams({ source: source.name, since: String(report.since), until: String(report.until) }),
    )
    expect(rows).toHaveLength(12)
    for (const funnel of report.destinations) {
      const mine = rows.filter((row) => row.destination === funnel.destination)
      const count = (test: (row: LedgerRow) => boolean) => mine.filter(test).length
      expect(funnel.received).toBe(mine.length)
      expect(funnel.filtered.count).toBe(
        count((row) => row.status === 'dropped' && ROUTING.has(row.reason ?? '')),
      )
      expect(funnel.dropped.count).toBe(
        count((row) => row.status === 'dropped' && !ROUTING.has(row.reason ?? '')),
      )
      expect(funnel.delivered.count).toBe(count((row) => row.status === 'delivered'))
      expect(funnel.retrying.count).toBe(count((row) => row.status === 'retrying'))
      expect(funnel.failed.count).toBe(count((row) => row.status === 'failed'))
      expect(funnel.attempted).toBe(count((row) => ['delivered', 'retrying', 'failed'].includes(row.status)))
      for (const stage of ['filtered', 'dropped', 'retrying', 'failed'] as const) {
        for (const entry of funnel[stage].reasons)
          expect(entry.count).toBe(count((row) => row.status === entry.status && row.reason === entry.reason))
      }
    }

    // Samples: the failed and dropped events, each once, their reason's own.
    const failedRow = rows.find(
      (row) => row.message_id === ids.failed.messageId && row.destination === 'Crisp',
    )
    expect(failedRow?.status).toBe('failed')
    // The ledger row holds the partner's echo of the email: the funnel must not.
    expect(`${failedRow?.response_summary}`).toContain(EMAIL)
    const failed = crisp.failed.reasons[0]
    expect(failed?.reason).toBe(failedRow?.reason)
    expect(failed?.samples).toEqual([
      expect.objectContaining({
        messageId: ids.failed.messageId,
        source: source.name,
        type: 'identify',
        attempts: 1,
        partnerStatus: 400,
      }),
    ])
    expect(failed?.samples?.[0]?.summary).toContain('<redacted>')
    const unknown = crisp.dropped.reasons.find((entry) => entry.reason === 'unknown_user')
    expect(unknown?.samples?.map((sample) => [sample.messageId, sample.eventName])).toEqual([
      [ids.unknownUser.messageId, 'Report Exported'],
    ])
    expect(crisp.retrying.reasons[0]?.samples?.[0]).toMatchObject({
      messageId: ids.retrying.messageId,
      lastError: 'http_503',
      partnerStatus: 503,
    })
    expect(crisp.delivered.reasons[0]?.samples).toBeUndefined()
    for (const secret of [USER_ID, STRANGER, EMAIL, TRAIT, PROPERTY]) expect(text).not.toContain(secret)
  })

  it('answers zeros for a range before anything happened, and one destination when asked', async () => {
    const { source } = await mixedWorkload()
    const now = Date.now()
    const earlier = await getJson<FunnelReport>(
      `/admin/funnel?source=${source.name}&since=${now - 3 * 3_600_000}&until=${now - 2 * 3_600_000}`,
    )
    expect(earlier.status).toBe(200)
    expect(
      earlier.body.destinations.map((funnel) => [funnel.destination, funnel.received, funnel.attempted]),
    ).toEqual([
      ['Crisp', 0, 0],
      ['CrowdPower', 0, 0],
    ])
    for (const funnel of earlier.body.destinations) expect(funnel.failed).toEqual({ count: 0, reasons: [] })

    const one = await getJson<FunnelReport>(`/admin/funnel?source=${source.name}&destination=Crisp&range=1h`)
    expect(one.status).toBe(200)
    expect(one.body.destination).toBe('Crisp')
    expect(one.body.destinations.map((funnel) => [funnel.destination, funnel.received])).toEqual([
      ['Crisp', 6],
    ])
  })

  it('refuses what its schema refuses with a 400 saying where', async () => {
    const cases: [string, string][] = [
      ['destination=Nope', 'destination'],
      ['since=10&until=5', 'until'],
      ['since=tomorrow', 'since'],
      ['since=0&until=99999999999', 'since'],
      ['range=1h&since=5', 'range'],
    ]
    for (const [query, path] of cases) {
      const { status, body } = await getJson<{ issues: { path: string }[] }>(`/admin/funnel?${query}`)
      expect(status, query).toBe(400)
      expect(body.issues.map((issue) => issue.path)).toContain(path)
    }
    const anonymous = await routerFetch('/admin/funnel')
    expect(anonymous.status).toBe(401)
  })
})

describe('the funnel page', () => {
  it('shows the same numbers, links samples to their deliveries, and no one’s data', async () => {
    const { source, ids } = await mixedWorkload()
    const cookie = await loginCookie()
    const response = await routerFetch(`/admin/delivery-funnel?source=${source.name}&destination=Crisp`, {
      headers: { Cookie: cookie },
    })
    const html = await response.text()
    expect(response.status, html).toBe(200)
    const counts = await textsOf(html, '[data-destination="Crisp"] td[data-count]')
    const steps = await attributesOf(html, '[data-destination="Crisp"] td[data-count]', 'data-count')
    expect(Object.fromEntries(steps.map((step, index) => [step, counts[index]]))).toEqual({
      received: '6',
      filtered: '1',
      dropped: '2',
      attempted: '3',
      delivered: '1',
      retrying: '1',
      failed: '1',
    })
    // Each reason links to exactly its pairs in the deliveries list.
    const links = (await attributesOf(html, '[data-reason] h3 a', 'href')).map((href) =>
      `${href}`.replaceAll('&amp;', '&'),
    )
    const failedLink = links.find((href) => href.includes('status=failed'))
    expect(failedLink).toMatch(/^\/admin\/deliveries\?destination=Crisp&status=failed&reason=invalid_data&/)
    const listed = await getJson<{ deliveries: LedgerRow[] }>(`${failedLink}`)
    expect(listed.body.deliveries.map((row) => row.message_id)).toEqual([ids.failed.messageId])
    expect(await attributesOf(html, '[data-sample]', 'data-sample')).toContain(ids.failed.messageId)
    for (const secret of [USER_ID, STRANGER, EMAIL, TRAIT, PROPERTY]) expect(html).not.toContain(secret)
    expect(await textsOf(html, 'nav a[aria-current="page"]')).toContain('Funnel')
  })

  it('answers a query it refuses with a 400 page saying what is wrong', async () => {
    const cookie = await loginCookie()
    const response = await routerFetch('/admin/delivery-funnel?destination=Nope', {
      headers: { Cookie: cookie },
    })
    expect(response.status).toBe(400)
    expect((await textsOf(await response.text(), '[role="alert"] li')).join()).toContain('destination')
    const signedOut = await routerFetch('/admin/delivery-funnel')
    expect(signedOut.status).toBe(200)
    expect(await signedOut.text()).toContain('token')
  })
})
