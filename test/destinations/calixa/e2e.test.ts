import { describe, expect, it } from 'vitest'
import { waitForLedger } from '../../helpers/delivery'
import { configureSource, sandboxDestinations } from '../../helpers/destinations'
import { messageId, sendBatch } from '../../helpers/events'
import { SandboxTenant } from '../../helpers/sandbox'
import { CALIXA_KEY, calixaState } from './fixtures'

/** Through the real pipeline: /v1/batch → queue → consumer → Calixa webhook emulator → ledger. */
describe('Calixa end to end', () => {
  it('forwards identify, group and B2B tracks, and drops the rest', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ Calixa: sandboxDestinations(tenant).Calixa })
    const labels = ['cx-identify', 'cx-group', 'cx-account', 'cx-order', 'cx-page'] as const
    const [identifyId, groupId, accountId, orderId, pageId] = labels.map((label) => messageId(label)) as [
      string,
      string,
      string,
      string,
      string,
    ]
    await sendBatch(source.writeKey, [
      { type: 'identify', messageId: identifyId, userId: 'u-e2e', traits: { email: 'e2e@example.com' } },
      { type: 'group', messageId: groupId, userId: 'u-e2e', groupId: 'acct-1', traits: { name: 'Initech' } },
      {
        type: 'track',
        messageId: accountId,
        userId: 'u-e2e',
        event: 'Account Created',
        properties: { account_name: 'Initech' },
        context: { groupId: 'acct-1' },
      },
      { type: 'track', messageId: orderId, userId: 'u-e2e', event: 'Order Completed' },
      { type: 'page', messageId: pageId, userId: 'u-e2e', name: 'Home' },
    ])

    const rows = await waitForLedger([identifyId, groupId, accountId, orderId, pageId], { rows: 5 })
    const byId = new Map(rows.map((row) => [row.message_id, row]))
    for (const id of [identifyId, groupId, accountId])
      expect(byId.get(id)).toMatchObject({ destination: 'Calixa', status: 'delivered', partner_status: 200 })
    expect(byId.get(orderId)).toMatchObject({ status: 'dropped', reason: 'unsupported_event' })
    expect(byId.get(pageId)).toMatchObject({ status: 'dropped', reason: 'unsupported_call' })

    const state = await calixaState(tenant)
    expect(state.accepted.map(({ message }) => message.messageId).sort()).toEqual(
      [identifyId, groupId, accountId].sort(),
    )
    expect(state.users['u-e2e']?.accounts).toEqual(['acct-1'])
    expect(state.accounts['acct-1']?.traits).toEqual({ name: 'Initech' })
  })

  it('drops every event as no_endpoint when the endpoint is not configured', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ Calixa: { apiKey: CALIXA_KEY } })
    const id = messageId('cx-no-endpoint')
    await sendBatch(source.writeKey, [{ type: 'identify', messageId: id, userId: 'u1' }])
    const [row] = await waitForLedger([id], { rows: 1 })
    expect(row).toMatchObject({ destination: 'Calixa', status: 'dropped', reason: 'no_endpoint' })
    expect(await tenant.requests('calixa')).toEqual([])
  })
})
