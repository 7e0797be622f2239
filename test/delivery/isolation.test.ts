import { expect, it } from 'vitest'
import { waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

it('keeps delivering to healthy partners while one partner hangs for the whole test', async () => {
  const tenant = new SandboxTenant()
  const all = sandboxDestinations(tenant)
  const source = await configureSource({ CrowdPower: all.CrowdPower, Calixa: all.Calixa })
  await tenant.fault('crowdpower', { mode: 'hang' })

  const ids: string[] = []
  for (let batch = 0; batch < 3; batch += 1) {
    const batchIds = [messageId('iso'), messageId('iso')]
    ids.push(...batchIds)
    await sendBatch(
      source.writeKey,
      batchIds.map((id) => ({
        type: 'identify',
        messageId: id,
        userId: `u-${id}`,
        traits: { email: 'a@example.com' },
      })),
    )
    // Calixa has every event of this batch before the next one is even sent.
    const rows = await waitForLedger(batchIds, { rows: 4, alsoSettled: ['retrying'] })
    expect(rows.filter((row) => row.destination === 'Calixa').map((row) => row.status)).toEqual([
      'delivered',
      'delivered',
    ])
    expect(
      rows.filter((row) => row.destination === 'CrowdPower').every((row) => row.status === 'retrying'),
    ).toBe(true)
  }

  const calixa = await tenant.requests('calixa')
  expect(calixa.filter((request) => request.status === 200)).toHaveLength(ids.length)
  // After a few timeouts the partner's circuit opens: later events are not sent to it at all,
  // so a dead partner costs the consumer no more timeouts.
  const crowdPower = await tenant.requests('crowdpower')
  expect(crowdPower.length).toBeLessThan(ids.length)
  await tenant.clearFaults()
})
