import { expect, it } from 'vitest'
import { ManualClock } from '../../src/lib/clock'
import { type DeliveryMessage, readDeliveryMessage } from '../../src/queue/message'
import type { SegmentEvent } from '../../src/segment/schema'
import { consume, type LedgerRow, readDelivery } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

function track(id: string, userId: string): SegmentEvent {
  const now = new Date().toISOString()
  return { type: 'track', event: 'Product Viewed', messageId: id, userId, receivedAt: now, timestamp: now }
}

async function statusOf(id: string): Promise<LedgerRow['status'] | undefined> {
  return (await readDelivery(id))?.status
}

it('reads a queued body in either form: the JSON text sent now, the object sent before', () => {
  const message: DeliveryMessage = {
    source: 'web',
    ingestId: 'ingest-1',
    events: [track('m1', 'u1')],
    only: ['CrowdPower'],
  }
  expect(readDeliveryMessage(JSON.stringify(message))).toEqual(message)
  expect(readDeliveryMessage(message)).toEqual(message)
})

it('delivers messages of both forms, in one batch: an old-form message still in the queue after an upgrade', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  const oldId = messageId('old-form')
  const newId = messageId('new-form')
  const oldForm: DeliveryMessage = {
    source: source.name,
    ingestId: 'ingest-old',
    events: [track(oldId, 'u-old')],
  }
  const newForm = JSON.stringify({
    source: source.name,
    ingestId: 'ingest-new',
    events: [track(newId, 'u-new')],
  })

  const result = await consume([oldForm, newForm], { attempts: 1, form: 'json' })

  expect(result.explicitAcks).toHaveLength(2)
  expect(result.retryMessages).toEqual([])
  expect(await statusOf(oldId)).toBe('delivered')
  expect(await statusOf(newId)).toBe('delivered')
  const sent = (await tenant.requests('crowdpower')).map((request) => request.body as { user_id?: string })
  expect(sent.map((body) => body.user_id).sort()).toEqual(['u-new', 'u-old'])
})

it('delivers an old-form message alone, and re-queues it as it is when a partner asks for a retry', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  await tenant.fault('crowdpower', { status: 503, count: 1 })
  const id = messageId('old-retry')
  const oldForm: DeliveryMessage = {
    source: source.name,
    ingestId: 'ingest-old',
    events: [track(id, 'u-retry')],
  }

  const clock = new ManualClock(Date.now())
  const first = await consume(oldForm, { attempts: 1, form: 'json', clock })
  expect(first.retryMessages).toHaveLength(1)
  expect(await statusOf(id)).toBe('retrying')

  // The queue brings it back once its retry is due.
  clock.advance(60_000)
  const second = await consume(oldForm, { attempts: 2, form: 'json', clock })
  expect(second.explicitAcks).toHaveLength(1)
  expect(await statusOf(id)).toBe('delivered')
})
