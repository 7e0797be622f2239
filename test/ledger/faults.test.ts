import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LedgerShards } from '../../src/ledger/shards'
import { ManualClock } from '../../src/lib/clock'
import type { DeliveryMessage } from '../../src/queue/message'
import { consume, readDeliveries } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { identifyEvent, messageId } from '../helpers/events'
import { faultyLedger } from '../helpers/ledger-faults'
import { ADMIN_TOKEN, catchQueueSends, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

/** A fresh source delivering to CrowdPower and Calixa (one partner request per identify at each). */
async function twoPartners() {
  const tenant = new SandboxTenant()
  const destinations = sandboxDestinations(tenant)
  const source = await configureSource({ CrowdPower: destinations.CrowdPower, Calixa: destinations.Calixa })
  const ids = [messageId('fault'), messageId('fault'), messageId('fault')]
  const message: DeliveryMessage = {
    source: source.name,
    ingestId: crypto.randomUUID(),
    events: ids.map((id) => identifyEvent(id, { email: 'f@example.com' })),
  }
  return { tenant, source, ids, message }
}

/** Each partner accepted each user's event exactly once. */
async function expectEachOnce(tenant: SandboxTenant, ids: string[], partners = ['calixa', 'crowdpower']) {
  const expected = Object.fromEntries(
    partners.flatMap((partner) => ids.map((id) => [`${partner} u-${id}`, 1])),
  )
  expect(await tenant.acceptedCounts(ids.map((id) => `u-${id}`))).toEqual(expected)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('the ledger fails after partners answered', () => {
  it('carries the outcomes in a continuation and sends nothing twice, however often recording fails', async () => {
    const { tenant, ids, message } = await twoPartners()
    const recordFails = faultyLedger((method) => method === 'record')
    const queue = catchQueueSends()

    const first = await consume(message, { attempts: 1, vars: { LEDGER: recordFails.namespace } })
    // The original is done with: a continuation carrying every outcome replaced it.
    expect(first.explicitAcks).toHaveLength(1)
    expect(first.retryMessages).toEqual([])
    const [continuation] = queue.messages()
    queue.restore()
    expect(continuation?.ingestId).toBe(message.ingestId)
    expect(continuation?.recorded?.map((outcome) => outcome.messageId).sort()).toEqual([...ids].sort())
    for (const outcome of continuation?.recorded ?? []) {
      expect(Object.values(outcome.states).map((state) => state.status)).toEqual(['delivered', 'delivered'])
    }
    expect(await readDeliveries(ids)).toEqual([])

    // The ledger is still failing twice more: the continuation waits with growing delays, sending nothing.
    if (!continuation) throw new Error('no continuation queued')
    const delays: number[] = []
    for (const attempt of [1, 2]) {
      const retried = await consume(continuation, {
        attempts: attempt,
        vars: { LEDGER: recordFails.namespace },
      })
      expect(retried.retryMessages).toHaveLength(1)
      delays.push(retried.delaySeconds ?? -1)
    }
    expect(delays.every((delay) => delay >= 1)).toBe(true)

    const recovered = await consume(continuation, { attempts: 3 })
    expect(recovered.explicitAcks).toHaveLength(1)
    const rows = await readDeliveries(ids)
    expect(rows.map((row) => [row.destination, row.status, row.attempts])).toEqual(
      ids.flatMap(() => [
        ['Calixa', 'delivered', 1],
        ['CrowdPower', 'delivered', 1],
      ]),
    )
    await expectEachOnce(tenant, ids)
  })
})

describe('the ledger is down before anything is sent', () => {
  it('sends nothing, backs off, and delivers each event once when it is back', async () => {
    const { tenant, ids, message } = await twoPartners()
    const down = faultyLedger(() => true)
    for (const attempt of [1, 2, 3]) {
      const result = await consume(message, { attempts: attempt, vars: { LEDGER: down.namespace } })
      expect(result.retryMessages).toHaveLength(1)
      expect(result.explicitAcks).toEqual([])
    }
    expect(await tenant.requests()).toEqual([])

    const recovered = await consume(message, { attempts: 4 })
    expect(recovered.explicitAcks).toHaveLength(1)
    expect((await readDeliveries(ids)).every((row) => row.status === 'delivered')).toBe(true)
    await expectEachOnce(tenant, ids)
  })

  it('rides out 30 minutes of outage in at most 12 attempts, then loses nothing and duplicates nothing', async () => {
    const { tenant, ids, message } = await twoPartners()
    const down = faultyLedger(() => true)
    const clock = new ManualClock(Date.now())
    const outageEnds = clock.now() + 30 * 60 * 1000
    // The production backoff (RETRY_BASE_SECONDS 10), not the tests' short one.
    const vars = { LEDGER: down.namespace, RETRY_BASE_SECONDS: '10' }
    let attempts = 0
    while (clock.now() < outageEnds) {
      attempts += 1
      const result = await consume(message, { attempts, vars, clock })
      expect(result.retryMessages).toHaveLength(1)
      clock.advance((result.delaySeconds ?? 0) * 1000)
    }
    expect(attempts).toBeLessThanOrEqual(12)
    expect(attempts).toBeGreaterThanOrEqual(6)
    expect(await tenant.requests()).toEqual([])

    const recovered = await consume(message, { attempts: attempts + 1, clock })
    expect(recovered.explicitAcks).toHaveLength(1)
    expect(await readDeliveries(ids)).toHaveLength(ids.length * 2)
    await expectEachOnce(tenant, ids)
  })

  it('delivers what lives on healthy shards and retries only the rest when one shard fails', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    const ids = Array.from({ length: 12 }, () => messageId('fault'))
    const message: DeliveryMessage = {
      source: source.name,
      ingestId: crypto.randomUUID(),
      events: ids.map((id) => identifyEvent(id, { email: 'f@example.com' })),
    }
    // The shard of the first event fails (a fixed shard would get none of 12 random keys 3 % of the time).
    const groups = await new LedgerShards(env).group(
      ids.map((id) => ({ source: source.name, messageId: id })),
    )
    expect(groups.size).toBeGreaterThan(1)
    const [downIndex] = groups.keys()
    const shardDown = faultyLedger((_method, shard) => shard === `shard-${downIndex}`)

    const first = await consume(message, { attempts: 1, vars: { LEDGER: shardDown.namespace } })
    expect(shardDown.failed.length).toBeGreaterThan(0)
    expect(first.retryMessages).toHaveLength(1)
    const recordedFirst = await readDeliveries(ids)
    // 12 keys over 4 shards: some landed elsewhere and were delivered at once.
    expect(recordedFirst.length).toBeGreaterThan(0)
    expect(recordedFirst.length).toBeLessThan(ids.length)
    expect(recordedFirst.every((row) => row.status === 'delivered')).toBe(true)

    const second = await consume(message, { attempts: 2 })
    expect(second.explicitAcks).toHaveLength(1)
    expect((await readDeliveries(ids)).map((row) => row.status)).toEqual(ids.map(() => 'delivered'))
    await expectEachOnce(tenant, ids, ['crowdpower'])
  })
})

describe('KV and the queue fail', () => {
  it('sends nothing while the config cannot be read from KV, backs off, and delivers once it can', async () => {
    const { tenant, ids, message } = await twoPartners()
    const failingKv = new Proxy(env.CONFIG, {
      get: (target, property) =>
        property === 'get'
          ? () => Promise.reject(new Error('KV GET failed: 503 (injected)'))
          : Reflect.get(target, property),
    })
    // No per-isolate cache, so the consumer has to read KV.
    const vars = { CONFIG: failingKv, CONFIG_CACHE_SECONDS: '0' }
    const delays: number[] = []
    for (const attempt of [1, 2, 3]) {
      const result = await consume(message, { attempts: attempt, vars })
      expect(result.retryMessages).toHaveLength(1)
      delays.push(result.delaySeconds ?? 0)
    }
    expect(delays.every((delay) => delay >= 1)).toBe(true)
    expect(await tenant.requests()).toEqual([])

    const recovered = await consume(message, { attempts: 4 })
    expect(recovered.explicitAcks).toHaveLength(1)
    await expectEachOnce(tenant, ids)
  })

  it('retries the message when the ledger and the queue fail together, and still sends nothing twice while the claim holds', async () => {
    const { tenant, ids, message } = await twoPartners()
    const recordFails = faultyLedger((method) => method === 'record')
    vi.spyOn(env.DELIVERY_QUEUE, 'send').mockRejectedValue(new Error('Queue send failed (injected)'))
    const first = await consume(message, { attempts: 1, vars: { LEDGER: recordFails.namespace } })
    // Nowhere to carry the outcomes: the message stays, with backoff.
    expect(first.explicitAcks).toEqual([])
    expect(first.retryMessages).toHaveLength(1)
    vi.restoreAllMocks()

    // The queue brings it back while the claim's lease holds: it waits, nothing is sent again.
    const early = await consume(message, { attempts: 2 })
    expect(early.retryMessages).toHaveLength(1)
    expect(early.delaySeconds).toBeGreaterThan(60)
    await expectEachOnce(tenant, ids)
  })
})

describe('the dead-letter queue', () => {
  it('records what the queue gave up on as failed (dead_lettered), keeps settled pairs, and replay delivers it', async () => {
    const { tenant, source, ids, message } = await twoPartners()
    // A rate limit (not a 5xx, which would open the partner's circuit for the replay too), without
    // Retry-After: one with it would hold all of Calixa, the replay too (test/delivery/gates.test.ts).
    await tenant.fault('calixa', { status: 429 })
    // CrowdPower delivers; Calixa keeps answering 429, so its pairs are retrying.
    await consume(message, { attempts: 1 })
    await tenant.clearFaults()

    // The queue ran out of retries for the message: it arrives on the dead-letter queue as it was.
    const dead = await consume(message, { attempts: 1, queue: 'segment-router-dead-letters' })
    expect(dead.explicitAcks).toHaveLength(1)
    const rows = await readDeliveries(ids)
    expect(rows.filter((row) => row.destination === 'CrowdPower').map((row) => row.status)).toEqual(
      ids.map(() => 'delivered'),
    )
    const calixa = rows.filter((row) => row.destination === 'Calixa')
    expect(calixa.map((row) => [row.status, row.reason, row.attempts])).toEqual(
      ids.map(() => ['failed', 'dead_lettered', 1]),
    )

    const response = await routerFetch('/admin/replay', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ filter: { source: source.name, reason: 'dead_lettered' } }),
    })
    // A replay by filter is a paced job (its alarm queues the pairs within a second).
    expect(response.status).toBe(202)
    expect(await response.json()).toMatchObject({ plan: { replayable: ids.length, notKept: 0 } })
    await vi.waitFor(
      async () => {
        const replayed = await readDeliveries(ids)
        expect(replayed.filter((row) => row.status === 'delivered')).toHaveLength(ids.length * 2)
      },
      { timeout: 15_000, interval: 200 },
    )
    await expectEachOnce(tenant, ids)
  })

  it('backs off while the ledger is down and acknowledges nothing unrecorded', async () => {
    const { ids, message } = await twoPartners()
    const down = faultyLedger(() => true)
    const dead = await consume(message, {
      attempts: 1,
      vars: { LEDGER: down.namespace },
      queue: 'segment-router-dead-letters',
    })
    expect(dead.explicitAcks).toEqual([])
    expect(dead.retryMessages).toHaveLength(1)
    expect(dead.delaySeconds).toBeGreaterThanOrEqual(1)

    const recovered = await consume(message, { attempts: 2, queue: 'segment-router-dead-letters' })
    expect(recovered.explicitAcks).toHaveLength(1)
    expect((await readDeliveries(ids)).map((row) => row.reason)).toEqual(
      ids.flatMap(() => ['dead_lettered', 'dead_lettered']),
    )
  })
})
