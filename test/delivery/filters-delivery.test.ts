import { describe, expect, it } from 'vitest'
import { textsOf } from '../dashboard/html'
import { dashboardHtml, loginCookie } from '../dashboard/session'
import { waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { putConfig } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

const FILTERS = [
  { name: 'no-test-events', action: 'drop', events: ['Test *'] },
  { name: 'paid-orders-only', action: 'drop', events: ['Order Completed'], if: 'not properties.revenue > 0' },
  { name: 'no-pages', action: 'drop', types: ['page'] },
]

/** Through the real pipeline, asserting what the sandbox partner received and what the ledger says. */
describe('destination filters', () => {
  it('sends nothing for a filtered event and records it dropped/filtered with the rule name', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = await configureSource({
      CrowdPower: { ...destinations.CrowdPower, filters: FILTERS },
      // Same events, no filters: filters are per destination.
      Calixa: destinations.Calixa,
    })
    const ids = {
      test: messageId('filter-test'),
      freeOrder: messageId('filter-free'),
      paidOrder: messageId('filter-paid'),
      page: messageId('filter-page'),
      signedUp: messageId('filter-signup'),
    }
    await sendBatch(source.writeKey, [
      { type: 'track', messageId: ids.test, userId: 'u-f', event: 'Test Signup' },
      {
        type: 'track',
        messageId: ids.freeOrder,
        userId: 'u-f',
        event: 'Order Completed',
        properties: { revenue: 0 },
      },
      {
        type: 'track',
        messageId: ids.paidOrder,
        userId: 'u-f',
        event: 'Order Completed',
        properties: { revenue: 1200 },
      },
      { type: 'page', messageId: ids.page, userId: 'u-f', name: 'Pricing' },
      {
        type: 'track',
        messageId: ids.signedUp,
        userId: 'u-f',
        event: 'Signed Up',
        context: { groupId: 'acct-f' },
      },
    ])
    const rows = await waitForLedger(Object.values(ids), { rows: 10 })
    const crowdPower = new Map(
      rows
        .filter((row) => row.destination === 'CrowdPower')
        .map((row) => [row.message_id, [row.status, row.reason, row.response_summary]]),
    )
    expect(crowdPower.get(ids.test)).toEqual(['dropped', 'filtered', 'no-test-events'])
    expect(crowdPower.get(ids.freeOrder)).toEqual(['dropped', 'filtered', 'paid-orders-only'])
    expect(crowdPower.get(ids.page)).toEqual(['dropped', 'filtered', 'no-pages'])
    expect(crowdPower.get(ids.paidOrder)?.[0]).toBe('delivered')
    expect(crowdPower.get(ids.signedUp)?.[0]).toBe('delivered')

    // At the partner: the charge and the Signed Up event only.
    const requests = await tenant.requests('crowdpower')
    const sent = JSON.stringify(requests.map((request) => request.body))
    // One event left for /events: had the filtered ones gone too, they would have been bulked.
    expect(requests.map((request) => request.path).sort()).toEqual(['/charges', '/events'])
    expect(sent).toContain('Signed Up')
    expect(sent).not.toContain('Test Signup')
    expect(sent).not.toContain('Page Viewed')
    expect(sent).toContain('1200')

    // Calixa has no filters: its drops are its own (unsupported events), never `filtered`.
    expect(rows.filter((row) => row.destination === 'Calixa' && row.reason === 'filtered')).toEqual([])

    // The dashboard's drop reasons come from the ledger: `filtered` is there with its count.
    const html = await dashboardHtml('/admin', await loginCookie())
    expect(await textsOf(html, 'article[data-destination="CrowdPower"] .reasons-dropped li')).toContain(
      'filtered 3',
    )
  })

  it('applies a rule change to events delivered after it', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = await configureSource({ CrowdPower: destinations.CrowdPower })
    const before = messageId('filter-before')
    await sendBatch(source.writeKey, [
      { type: 'track', messageId: before, userId: 'u-g', event: 'Test Signup' },
    ])
    expect((await waitForLedger([before], { rows: 1 }))[0]?.status).toBe('delivered')

    await putConfig({
      sources: [
        { ...source, destinations: { CrowdPower: { ...destinations.CrowdPower, filters: FILTERS } } },
      ],
    })
    const after = messageId('filter-after')
    await sendBatch(source.writeKey, [
      { type: 'track', messageId: after, userId: 'u-g', event: 'Test Signup' },
    ])
    expect((await waitForLedger([after], { rows: 1 }))[0]).toMatchObject({
      status: 'dropped',
      reason: 'filtered',
      response_summary: 'no-test-events',
    })
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
  })
})
