import { expect, it } from 'vitest'
import { ManualClock } from '../../src/lib/clock'
import type { DeliveryMessage } from '../../src/queue/message'
import type { SegmentEvent } from '../../src/segment/schema'
import { consume, type LedgerRow, readDelivery } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { replayCaught } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

function rowOf(id: string, destination: string): Promise<LedgerRow | undefined> {
  return readDelivery(id, destination)
}

it('delivers a replayed pair while another destination of the event is still retrying, in the same batch', async () => {
  const tenant = new SandboxTenant()
  const destinations = sandboxDestinations(tenant)
  const source = await configureSource({
    CrowdPower: destinations.CrowdPower,
    Crisp: { ...destinations.Crisp, unknownUserGraceSeconds: 1 },
  })
  await tenant.fault('crowdpower', { status: 400, count: 1 })
  const id = messageId('race')
  const now = new Date().toISOString()
  const event: SegmentEvent = {
    type: 'track',
    event: 'Product Viewed',
    messageId: id,
    userId: 'never-identified',
    receivedAt: now,
    timestamp: now,
  }
  const original: DeliveryMessage = { source: source.name, ingestId: 'ingest-race', events: [event] }
  const clock = new ManualClock(Date.now())
  await consume(original, { attempts: 1, clock })
  expect((await rowOf(id, 'CrowdPower'))?.status).toBe('failed')
  expect((await rowOf(id, 'Crisp'))?.status).toBe('retrying')
  // A minute later Crisp's unknown-user re-check is due, just as the operator replays CrowdPower.
  clock.advance(60_000)

  // Catch the replay's message instead of letting the background consumer take it.
  const caught = await replayCaught([{ source: source.name, messageId: id, destination: 'CrowdPower' }])
  expect(caught.answer).toMatchObject({ replayed: 1 })
  const replay = caught.queued
  if (!replay) throw new Error('the replay queued nothing')
  expect(replay).toMatchObject({ only: ['CrowdPower'] })

  // The queue hands the consumer the original's retry and the replay together.
  const result = await consume([original, replay], { attempts: 2, clock })
  expect(result.explicitAcks).toHaveLength(2)
  expect(await rowOf(id, 'CrowdPower')).toMatchObject({
    status: 'delivered',
    replays: 1,
    attempts: 2,
    duplicates: 0,
  })
  expect(await rowOf(id, 'Crisp')).toMatchObject({ status: 'dropped', reason: 'unknown_user', attempts: 2 })
  expect((await tenant.requests('crowdpower')).map((request) => request.status)).toEqual([400, 200])
})
