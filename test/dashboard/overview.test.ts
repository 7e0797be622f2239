import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { Ledger } from '../../src/ledger/ledger'
import { waitForLedger } from '../helpers/delivery'
import { type ConfiguredSource, configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { ORIGIN, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'
import { attributesOf, textOf, textsOf } from './html'
import { dashboardHtml, loginCookie } from './session'

function signedUp(id: string, userId: string) {
  return { type: 'track', messageId: id, userId, event: 'Signed Up', context: { groupId: 'acct-1' } }
}

/**
 * One ledger for the whole file, built through the real pipeline (Tracking API →
 * queue → consumer → partner emulators → ledger), so the page is checked against
 * rows the router itself wrote:
 *   failedId   CrowdPower failed (injected 400)  · Calixa delivered
 *   okIds ×2   CrowdPower delivered              · Calixa delivered
 *   pageId     CrowdPower delivered              · Calixa dropped unsupported_call
 */
let source: ConfiguredSource
let cookie: string
const failedId = messageId('dash-fail')
const okIds = [messageId('dash-ok'), messageId('dash-ok')]
const pageId = messageId('dash-page')

beforeAll(async () => {
  const tenant = new SandboxTenant()
  const destinations = sandboxDestinations(tenant)
  source = await configureSource({ CrowdPower: destinations.CrowdPower, Calixa: destinations.Calixa })
  await tenant.fault('crowdpower', {
    status: 400,
    body: { success: false, code: 400, message: 'user_id is invalid' },
    count: 1,
  })
  await sendBatch(source.writeKey, [signedUp(failedId, 'user-fail')])
  await waitForLedger([failedId], { rows: 2 })
  await sendBatch(source.writeKey, [
    signedUp(okIds[0] as string, 'user-ok-0'),
    signedUp(okIds[1] as string, 'user-ok-1'),
    { type: 'page', messageId: pageId, userId: 'user-page', name: 'Pricing' },
  ])
  await waitForLedger([...okIds, pageId], { rows: 6 })
  cookie = await loginCookie()
})

const card = (destination: string) => `article[data-destination="${destination}"]`

describe('overview cards', () => {
  it('count each destination’s outcomes from the ledger', async () => {
    const html = await dashboardHtml('/admin', cookie)
    const counts = async (destination: string) =>
      Object.fromEntries(
        await Promise.all(
          ['delivered', 'dropped', 'retrying', 'failed'].map(async (outcome) => [
            outcome,
            await textOf(html, `${card(destination)} [data-count="${outcome}"]`),
          ]),
        ),
      )
    expect(await counts('CrowdPower')).toEqual({ delivered: '3', dropped: '0', retrying: '0', failed: '1' })
    expect(await counts('Calixa')).toEqual({ delivered: '3', dropped: '1', retrying: '0', failed: '0' })
    expect(await textOf(html, '[data-total="delivered"]')).toBe('6')
    expect(await textOf(html, '[data-total="failed"]')).toBe('1')
  })

  it('list drop and failure reasons with their counts', async () => {
    const html = await dashboardHtml('/admin', cookie)
    expect(await textsOf(html, `${card('Calixa')} .reasons-dropped li`)).toEqual(['unsupported_call 1'])
    const failReasons = await textsOf(html, `${card('CrowdPower')} .reasons-failed li`)
    expect(failReasons).toHaveLength(1)
    expect(failReasons[0]).toMatch(/ 1$/)
    expect(await textsOf(html, `${card('CrowdPower')} .reasons-dropped li`)).toEqual([])
  })

  it('draw every counted delivery in the chart, one bar per bucket of the window', async () => {
    for (const [window, bars] of [
      ['24h', 24],
      ['1h', 12],
    ] as const) {
      const html = await dashboardHtml(`/admin?window=${window}`, cookie)
      const titles = await textsOf(html, `${card('CrowdPower')} svg title`)
      expect(titles).toHaveLength(bars)
      const sum = (outcome: string) =>
        titles.reduce(
          (total, title) => total + Number(title.match(new RegExp(`(\\d+) ${outcome}`))?.[1] ?? 0),
          0,
        )
      expect(sum('delivered'), window).toBe(3)
      expect(sum('failed'), window).toBe(1)
    }
  })

  it('agree with the stats API: the timeline query buckets exactly the rows the counts see', async () => {
    const until = Date.now() + 1
    const since = until - 3_600_000
    const ledger = new Ledger(env)
    const stats = await ledger.stats({ since, until })
    const timeline = await ledger.timeline({ since, until, bucketMs: 300_000 })
    const total = (rows: { count: number }[]) => rows.reduce((sum, row) => sum + row.count, 0)
    expect(total(timeline)).toBe(total(stats))
    expect(total(timeline)).toBe(8)
    for (const row of timeline) expect(row.bucket).toBeGreaterThanOrEqual(10)
  })
})

describe('live refresh', () => {
  it('answers the refresh script with only the live regions, fresh from the ledger', async () => {
    const response = await routerFetch('/admin?q=user-ok-0', {
      headers: { Cookie: cookie, 'X-Live-Refresh': '1' },
    })
    expect(response.status).toBe(200)
    const html = await response.text()
    expect(await attributesOf(html, '[data-live]', 'id')).toEqual(['overview', 'deliveries-live'])
    expect(await attributesOf(html, 'html, style, script, form.search', 'nonce')).toEqual([])
    expect(await textOf(html, `${card('CrowdPower')} [data-count="delivered"]`)).toBe('3')
    expect(await attributesOf(html, 'tbody tr', 'data-message-id')).toEqual([okIds[0], okIds[0]])
  })
})

describe('deliveries table', () => {
  it('shows each ledger row with its outcome, and a replay button only on the failed one', async () => {
    const html = await dashboardHtml('/admin', cookie)
    expect(await attributesOf(html, 'tbody tr', 'data-message-id')).toHaveLength(8)
    const failedRow = `tr[data-message-id="${failedId}"][data-destination="CrowdPower"]`
    expect(await textOf(html, `${failedRow} .badge`)).toBe('failed')
    expect(await textOf(html, `${failedRow} .http`)).toBe('HTTP 400')
    expect(await textOf(html, `${failedRow} .attempts`)).toBe('1')
    expect(await attributesOf(html, 'button.btn-replay', 'type')).toHaveLength(1)
    expect(await attributesOf(html, `${failedRow} input[name="messageId"]`, 'value')).toEqual([failedId])
    const dropped = `tr[data-message-id="${pageId}"][data-destination="Calixa"]`
    expect(await textOf(html, `${dropped} .outcome`)).toBe('dropped unsupported_call')
  })

  it('finds an event by messageId or by userId', async () => {
    const byMessage = await dashboardHtml(`/admin?q=${encodeURIComponent(pageId)}`, cookie)
    expect(await attributesOf(byMessage, 'tbody tr', 'data-message-id')).toEqual([pageId, pageId])
    const byUser = await dashboardHtml('/admin?q=user-ok-1', cookie)
    expect(await attributesOf(byUser, 'tbody tr', 'data-message-id')).toEqual([okIds[1], okIds[1]])
    const nothing = await dashboardHtml('/admin?q=nobody', cookie)
    expect(await textOf(nothing, '#deliveries-live .empty')).toBe('No deliveries match this search.')
  })

  it('filters by outcome and destination, and ignores a malformed filter instead of failing the page', async () => {
    const dropped = await dashboardHtml('/admin?status=dropped', cookie)
    expect(await attributesOf(dropped, 'tbody tr', 'data-destination')).toEqual(['Calixa'])
    const crowdPower = await dashboardHtml('/admin?destination=CrowdPower&status=delivered', cookie)
    expect(await attributesOf(crowdPower, 'tbody tr', 'data-status')).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ])
    const malformed = await dashboardHtml('/admin?status=exploded&window=7y', cookie)
    expect(await attributesOf(malformed, 'tbody tr', 'data-message-id')).toHaveLength(8)
  })

  it('replays a failed delivery from its button, then says there is nothing left to replay', async () => {
    const press = () =>
      routerFetch('/admin/deliveries/replay', {
        method: 'POST',
        headers: { Cookie: cookie, Origin: ORIGIN },
        body: new URLSearchParams({ source: source.name, messageId: failedId, destination: 'CrowdPower' }),
        redirect: 'manual',
      })
    const first = await press()
    expect(first.status).toBe(303)
    expect(first.headers.get('location')).toBe(`/admin?q=${encodeURIComponent(failedId)}&replay=queued`)
    const rows = await waitForLedger([failedId], { rows: 2 })
    expect(rows.find((row) => row.destination === 'CrowdPower')).toMatchObject({
      status: 'delivered',
      replays: 1,
    })

    const html = await dashboardHtml(first.headers.get('location') ?? '', cookie)
    expect(await textOf(html, '.notice')).toMatch(/^Replay queued/)
    expect(await attributesOf(html, 'tbody tr', 'data-status')).toEqual(['delivered', 'delivered'])
    expect(await attributesOf(html, 'button.btn-replay', 'type')).toEqual([])

    const again = await press()
    expect(again.headers.get('location')).toContain('replay=status_delivered')
  })
})
