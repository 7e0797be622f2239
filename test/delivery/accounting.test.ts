import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { Ledger } from '../../src/ledger/ledger'
import { waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { ADMIN_TOKEN, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

const DESTINATIONS = ['Calixa', 'Crisp', 'Crossing Minds', 'CrowdPower']

/** A mixed stream: every call type, ecommerce and B2B tracks, an Engage audience, and a user Crisp never saw. */
function mixedEvents(): Record<string, unknown>[] {
  const user = (n: number) => `acct-user-${n}`
  return [
    { type: 'identify', userId: user(1), traits: { email: 'ada@example.com', name: 'Ada', plan: 'pro' } },
    { type: 'identify', userId: user(2), traits: { email: 'bo@example.com', vip_buyers: true } },
    { type: 'identify', anonymousId: 'anon-1', traits: { plan: 'free' } },
    {
      type: 'track',
      userId: user(1),
      event: 'Product Viewed',
      properties: { product_id: 'sku-1', price: 9.5 },
    },
    {
      type: 'track',
      userId: user(2),
      event: 'Order Completed',
      properties: {
        order_id: 'o-1',
        revenue: 1200,
        products: [{ product_id: 'sku-1' }, { product_id: 'sku-2' }],
      },
    },
    { type: 'track', anonymousId: 'anon-1', event: 'Product Added', properties: { product_id: 'sku-3' } },
    {
      type: 'track',
      userId: user(1),
      event: 'Account Created',
      properties: { account_name: 'Initech' },
      context: { groupId: 'g-1' },
    },
    {
      type: 'track',
      userId: user(2),
      event: 'Signed Up',
      properties: { type: 'organic' },
      context: { groupId: 'g-1' },
    },
    {
      type: 'track',
      userId: user(2),
      event: 'Audience Entered',
      properties: { audience_key: 'vip_buyers', vip_buyers: true },
    },
    { type: 'track', userId: 'never-identified', event: 'Report Exported' },
    { type: 'page', userId: user(1), name: 'Pricing', properties: { url: 'https://example.com/pricing' } },
    { type: 'page', anonymousId: 'anon-1', properties: { path: '/' } },
    { type: 'group', userId: user(1), groupId: 'g-1', traits: { name: 'Initech' } },
    { type: 'screen', userId: user(1), name: 'Home' },
    { type: 'alias', userId: user(1), previousId: 'anon-1' },
  ].map((event) => ({ ...event, messageId: messageId('acct') }))
}

it('accounts for every accepted event at every routed destination, exactly once', async () => {
  const tenant = new SandboxTenant()
  const destinations = sandboxDestinations(tenant)
  destinations.Crisp = { ...destinations.Crisp, unknownUserGraceSeconds: 1 }
  const source = await configureSource(destinations)
  const events = mixedEvents()
  const ids = events.map((event) => event.messageId as string)
  await sendBatch(source.writeKey, events)

  const expected = events.length * DESTINATIONS.length
  const rows = await waitForLedger(ids, { rows: expected, timeoutMs: 30_000 })
  expect(rows).toHaveLength(expected)
  for (const id of ids) {
    expect(rows.filter((row) => row.message_id === id).map((row) => row.destination)).toEqual(DESTINATIONS)
  }
  const byStatus = Object.groupBy(rows, (row) => row.status)
  expect(
    (byStatus.delivered?.length ?? 0) +
      (byStatus.dropped?.length ?? 0) +
      (byStatus.failed?.length ?? 0) +
      (byStatus.retrying?.length ?? 0),
  ).toBe(expected)
  expect(byStatus.failed ?? []).toEqual([])
  // Every drop says why.
  for (const row of byStatus.dropped ?? []) expect(row.reason).toMatch(/^[a-z_]+$/)
  const reasonOf = (index: number, destination: string) =>
    rows.find((row) => row.message_id === ids[index] && row.destination === destination)?.reason
  expect(reasonOf(14, 'Crisp')).toBe('unsupported_call') // alias
  expect(reasonOf(10, 'Crisp')).toBe('unsupported_call') // page
  expect(reasonOf(12, 'CrowdPower')).toBe('unsupported_call') // group
  expect(reasonOf(9, 'Crisp')).toBe('unknown_user')
  expect(reasonOf(9, 'Crossing Minds')).toBe('unsupported_event')

  // Looking an event up by its key reaches the one shard holding all of its pairs.
  const looked = await new Ledger(env).lookup(ids.map((id) => ({ source: source.name, messageId: id })))
  expect(looked.map((row) => [row.message_id, row.destination, row.status]).sort()).toEqual(
    rows.map((row) => [row.message_id, row.destination, row.status]).sort(),
  )

  // The stats endpoint tells the same story as the rows.
  const response = await routerFetch(`/admin/stats?source=${source.name}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  const stats = (await response.json()) as {
    counts: { destination: string; status: string; count: number }[]
  }
  expect(stats.counts.reduce((sum, row) => sum + row.count, 0)).toBe(expected)
  const delivered = stats.counts
    .filter((row) => row.status === 'delivered')
    .reduce((sum, row) => sum + row.count, 0)
  expect(delivered).toBe(byStatus.delivered?.length)
})
