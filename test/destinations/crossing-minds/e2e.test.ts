import { describe, expect, it } from 'vitest'
import { waitForLedger } from '../../helpers/delivery'
import { configureSource, sandboxDestinations } from '../../helpers/destinations'
import { messageId, sendBatch } from '../../helpers/events'
import { SandboxTenant } from '../../helpers/sandbox'
import { cmState } from './fixtures'

/** Through the real pipeline: /v1/batch → queue → consumer → Crossing Minds emulator → ledger. */
describe('Crossing Minds end to end', () => {
  it('upserts the user, records a multi-product order in one request, and drops the rest', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ 'Crossing Minds': sandboxDestinations(tenant)['Crossing Minds'] })
    const [identifyId, orderId, signupId, pageId] = ['cm-identify', 'cm-order', 'cm-signup', 'cm-page'].map(
      (label) => messageId(label),
    ) as [string, string, string, string]
    await sendBatch(source.writeKey, [
      { type: 'identify', messageId: identifyId, userId: 'u-e2e', traits: { plan: 'pro', vip_buyers: true } },
      {
        type: 'track',
        messageId: orderId,
        userId: 'u-e2e',
        event: 'Order Completed',
        timestamp: '2024-05-01T10:00:00.000Z',
        properties: { order_id: 'o-1', products: [{ product_id: 'sku-1' }, { product_id: 'sku-2' }] },
      },
      { type: 'track', messageId: signupId, userId: 'u-e2e', event: 'Signed Up' },
      { type: 'page', messageId: pageId, userId: 'u-e2e', name: 'Home' },
    ])

    const rows = await waitForLedger([identifyId, orderId, signupId, pageId], { rows: 4 })
    const byId = new Map(rows.map((row) => [row.message_id, row]))
    expect(byId.get(identifyId)).toMatchObject({
      destination: 'Crossing Minds',
      status: 'delivered',
      attempts: 1,
    })
    expect(byId.get(orderId)).toMatchObject({ status: 'delivered', partner_status: 201 })
    expect(byId.get(signupId)).toMatchObject({ status: 'dropped', reason: 'unsupported_event' })
    expect(byId.get(pageId)).toMatchObject({ status: 'dropped', reason: 'unsupported_call' })

    const state = await cmState(tenant)
    expect(state.logins).toBe(1)
    expect(state.users['u-e2e']).toEqual({ plan: 'pro', vip_buyers: true })
    expect(state.interactions).toEqual([
      { user_id: 'u-e2e', item_id: 'sku-1', interaction_type: 'Order Completed', timestamp: 1714557600 },
      { user_id: 'u-e2e', item_id: 'sku-2', interaction_type: 'Order Completed', timestamp: 1714557600 },
    ])
    const bulk = (await tenant.requests('crossingminds')).filter((request) =>
      request.path.includes('interactions'),
    )
    expect(bulk).toHaveLength(1)
  })
})
