import { describe, expect, it } from 'vitest'
import { waitForLedger } from '../../helpers/delivery'
import { configureSource, sandboxDestinations } from '../../helpers/destinations'
import { messageId, sendBatch } from '../../helpers/events'
import { SandboxTenant } from '../../helpers/sandbox'
import { crispPeople } from './fixtures'

/** Through the real pipeline: /v1/batch → queue → consumer → Crisp emulator → ledger. */
describe('Crisp end to end', () => {
  it('delivers an identify and a track for the same new user sent in one batch', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ Crisp: sandboxDestinations(tenant).Crisp })
    const ids = [messageId('crisp-identify'), messageId('crisp-track'), messageId('crisp-page')]
    await sendBatch(source.writeKey, [
      {
        type: 'identify',
        messageId: ids[0],
        userId: 'u-e2e',
        traits: { email: 'e2e@example.com', name: 'E2E', plan: 'pro' },
      },
      {
        type: 'track',
        messageId: ids[1],
        userId: 'u-e2e',
        event: 'Order Completed',
        properties: { order_id: 'o-9' },
      },
      { type: 'page', messageId: ids[2], userId: 'u-e2e', name: 'Home' },
    ])

    const rows = await waitForLedger(ids, { rows: 3 })
    const byId = new Map(rows.map((row) => [row.message_id, row]))
    expect(byId.get(ids[0] ?? '')).toMatchObject({ destination: 'Crisp', status: 'delivered', attempts: 1 })
    expect(byId.get(ids[1] ?? '')).toMatchObject({
      destination: 'Crisp',
      status: 'delivered',
      partner_status: 201,
    })
    expect(byId.get(ids[2] ?? '')).toMatchObject({ status: 'dropped', reason: 'unsupported_call' })

    const [person] = await crispPeople(tenant)
    expect(person).toMatchObject({
      email: 'e2e@example.com',
      person: { nickname: 'E2E' },
      data: { user_id: 'u-e2e', plan: 'pro' },
      events: [expect.objectContaining({ text: 'Order Completed', data: { order_id: 'o-9' } })],
    })
  })

  it('re-checks a track that arrives before its identify, then delivers it', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({
      Crisp: { ...sandboxDestinations(tenant).Crisp, unknownUserGraceSeconds: 2 },
    })
    const trackId = messageId('crisp-early-track')
    await sendBatch(source.writeKey, [
      { type: 'track', messageId: trackId, userId: 'u-late', event: 'Signed Up' },
    ])
    const [waiting] = await waitForLedger([trackId], { rows: 1, alsoSettled: ['retrying'] })
    expect(waiting).toMatchObject({ status: 'retrying', last_error: 'unknown_user_grace' })

    const identifyId = messageId('crisp-late-identify')
    await sendBatch(source.writeKey, [
      { type: 'identify', messageId: identifyId, userId: 'u-late', traits: { email: 'late@example.com' } },
    ])
    const [track] = await waitForLedger([trackId], { rows: 1, timeoutMs: 20_000 })
    expect(track).toMatchObject({ status: 'delivered', attempts: 2 })
    const events = await tenant.requests('crisp')
    expect(events.filter((request) => request.path.includes('/people/events/'))).toEqual([
      expect.objectContaining({
        path: '/v1/website/sandbox-website/people/events/late%40example.com',
        status: 201,
      }),
    ])
  })
})
