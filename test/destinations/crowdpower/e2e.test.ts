import { describe, expect, it } from 'vitest'
import { waitForLedger } from '../../helpers/delivery'
import { configureSource, sandboxDestinations } from '../../helpers/destinations'
import { messageId, sendBatch } from '../../helpers/events'
import { SandboxTenant } from '../../helpers/sandbox'
import { crowdPowerCustomers } from './fixtures'

/** Through the real pipeline: /v1/batch → queue → consumer → CrowdPower emulator → ledger. */
describe('CrowdPower end to end', () => {
  it('delivers identify, tracks, a page and a charge, bulking one user’s events', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    const ids = Array.from({ length: 6 }, (_, index) => messageId(`crowdpower-${index}`))
    await sendBatch(source.writeKey, [
      {
        type: 'identify',
        messageId: ids[0],
        userId: 'u-cp',
        traits: { email: 'cp@example.com', planName: 'pro' },
      },
      { type: 'track', messageId: ids[1], userId: 'u-cp', event: 'Signed In' },
      {
        type: 'track',
        messageId: ids[2],
        userId: 'u-cp',
        event: 'Product Viewed',
        properties: { productId: 'p1' },
      },
      { type: 'page', messageId: ids[3], userId: 'u-cp', name: 'Pricing' },
      {
        type: 'track',
        messageId: ids[4],
        userId: 'u-cp',
        event: 'Order Completed',
        properties: { revenue: 1200 },
      },
      { type: 'group', messageId: ids[5], userId: 'u-cp', groupId: 'g-1' },
    ])

    const rows = await waitForLedger(ids, { rows: 6 })
    const status = new Map(
      rows.map((row) => [row.message_id, row.status === 'dropped' ? row.reason : row.status]),
    )
    expect(ids.map((id) => status.get(id))).toEqual([
      'delivered',
      'delivered',
      'delivered',
      'delivered',
      'delivered',
      'unsupported_call',
    ])

    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => request.path).sort()).toEqual(['/charges', '/customers', '/events/bulk'])
    const [customer] = await crowdPowerCustomers(tenant)
    expect(customer).toMatchObject({
      user_id: 'u-cp',
      email: 'cp@example.com',
      custom_attributes: { plan_name: 'pro' },
      charges: [expect.objectContaining({ amount: 1200 })],
    })
    expect(customer?.events.map((event) => event.action)).toEqual([
      'Signed In',
      'Product Viewed',
      'Page Viewed',
    ])
  })
})
