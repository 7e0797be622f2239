import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * Through the real pipeline (/v1/batch → queue → consumer → partner emulators),
 * asserting on what each sandbox partner actually received.
 */
describe('field controls at the partner', () => {
  it('never sends a denied field, sends hashed ones hashed (inside arrays too), and leaves other destinations whole', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = await configureSource({
      // Calixa receives the Segment event itself: the body shows exactly what the controls left.
      Calixa: {
        ...destinations.Calixa,
        fields: {
          deny: ['context.ip', 'properties.*.card', 'traits.email'],
          hash: ['properties.products[].sku', 'context.traits.email'],
        },
      },
      // CrowdPower has no rules: it must see the event as sent.
      CrowdPower: destinations.CrowdPower,
    })
    const id = messageId('fields')
    await sendBatch(source.writeKey, [
      {
        type: 'track',
        messageId: id,
        userId: 'u-fields',
        event: 'Account Created',
        properties: {
          account_name: 'Initech',
          payment: { card: '4111111111111111', brand: 'visa' },
          products: [{ sku: 'A1', name: 'Seat' }, { sku: 'B2' }],
        },
        context: { groupId: 'acct-1', ip: '203.0.113.9', traits: { email: 'jo@example.com' } },
      },
    ])
    const rows = await waitForLedger([id], { rows: 2 })
    expect(rows.map((row) => [row.destination, row.status])).toEqual([
      ['Calixa', 'delivered'],
      ['CrowdPower', 'delivered'],
    ])

    const [calixa] = await tenant.requests('calixa')
    const sent = calixa?.body as Record<string, Record<string, unknown>>
    expect(sent.properties).toEqual({
      account_name: 'Initech',
      payment: { brand: 'visa' },
      products: [{ sku: sha256('A1'), name: 'Seat' }, { sku: sha256('B2') }],
    })
    expect(sent.context).toMatchObject({ groupId: 'acct-1', traits: { email: sha256('jo@example.com') } })
    const calixaText = JSON.stringify(calixa?.body)
    for (const secret of ['203.0.113.9', '4111111111111111', 'jo@example.com', '"A1"', '"B2"'])
      expect(calixaText).not.toContain(secret)

    // The other destination got the original event: the controls copied, never mutated it.
    const crowdPowerText = JSON.stringify(await tenant.requests('crowdpower'))
    expect(crowdPowerText).toContain('4111111111111111')
    expect(crowdPowerText).toContain('"A1"')
  })

  it('keeps a denied trait and IP from a partner that maps them (CrowdPower customers)', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({
      CrowdPower: {
        ...sandboxDestinations(tenant).CrowdPower,
        fields: { deny: ['traits.email', 'context.ip'], hash: ['traits.phone'] },
      },
    })
    const id = messageId('fields-identify')
    await sendBatch(source.writeKey, [
      {
        type: 'identify',
        messageId: id,
        userId: 'u-cp-fields',
        traits: { email: 'jo@example.com', phone: '+15550100', plan: 'pro' },
        context: { ip: '203.0.113.9' },
      },
    ])
    expect((await waitForLedger([id], { rows: 1 }))[0]?.status).toBe('delivered')
    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => request.path)).toEqual(['/customers'])
    expect(requests[0]?.body).toEqual({
      user_id: 'u-cp-fields',
      phone: sha256('+15550100'),
      custom_attributes: { plan: 'pro' },
    })
  })
})
