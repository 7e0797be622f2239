import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ManualClock } from '../../src/lib/clock'
import type { DeliveryMessage } from '../../src/queue/message'
import { consume, readDeliveries, waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { identifyEvent, messageId } from '../helpers/events'
import { faultyNamespace } from '../helpers/ledger-faults'
import { ADMIN_TOKEN, catchQueueSends, putConfig, routerFetch, spyOnQueue } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'
import { alertsFor, announcements, cronRun } from '../operations/alert-helpers'

/**
 * The destination gates (issue 16, parts 1 and 2): pausing parks pairs,
 * consecutive 401/403 pause on their own, a 429 with Retry-After holds the
 * whole destination, and a rate limit holds across consumer invocations.
 * Everything runs through the real consumer, gates and partner emulators.
 */

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }

afterEach(() => {
  vi.restoreAllMocks()
})

/** A fresh source delivering identifies to CrowdPower and Calixa (one partner request per identify at each). */
async function twoPartners(
  overrides: { Calixa?: Record<string, unknown>; CrowdPower?: Record<string, unknown> } = {},
) {
  const tenant = new SandboxTenant()
  const destinations = sandboxDestinations(tenant)
  const source = await configureSource({
    CrowdPower: { ...destinations.CrowdPower, ...overrides.CrowdPower },
    Calixa: { ...destinations.Calixa, ...overrides.Calixa },
  })
  return { tenant, source }
}

function messageOf(
  source: string,
  count: number,
  label: string,
): { ids: string[]; message: DeliveryMessage } {
  const ids = Array.from({ length: count }, () => messageId(label))
  return {
    ids,
    message: {
      source,
      ingestId: crypto.randomUUID(),
      events: ids.map((id) => identifyEvent(id, { plan: 'pro' })),
    },
  }
}

async function destinationsList(): Promise<
  {
    id: string
    gate: {
      paused: { actor: string; automatic: boolean; reason: string } | null
      holdUntil: number | null
      tokens: number | null
    }
  }[]
> {
  const response = await routerFetch('/admin/destinations', { headers: admin })
  expect(response.status).toBe(200)
  return ((await response.json()) as { destinations: never[] }).destinations
}

async function gateOf(id: string) {
  const found = (await destinationsList()).find((destination) => destination.id === id)
  if (!found) throw new Error(`no destination ${id}`)
  return found.gate
}

function post(path: string, body?: unknown): Promise<Response> {
  return routerFetch(path, {
    method: 'POST',
    headers: admin,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
}

describe('pausing a destination', () => {
  it('parks its pairs without calling the partner or burning a retry, while the others deliver', async () => {
    const { tenant, source } = await twoPartners()
    const paused = await post(`/admin/destinations/${source.name}:Calixa/pause`, {
      reason: 'partner migration',
    })
    expect(paused.status).toBe(200)
    expect((await gateOf(`${source.name}:Calixa`)).paused).toMatchObject({
      actor: 'admin',
      automatic: false,
      reason: 'partner migration',
    })

    const { ids, message } = messageOf(source.name, 3, 'paused')
    const result = await consume(message)
    // Nothing waits in the queue: the parked pairs are the ledger's to keep.
    expect(result.explicitAcks).toHaveLength(1)
    expect(result.retryMessages).toEqual([])
    const rows = await readDeliveries(ids)
    expect(rows.map((row) => [row.destination, row.status, row.reason, row.attempts])).toEqual(
      ids.flatMap(() => [
        ['Calixa', 'paused', 'destination_paused', 0],
        ['CrowdPower', 'delivered', null, 1],
      ]),
    )
    expect(await tenant.requests('calixa')).toEqual([])
    expect(await tenant.acceptedCounts(ids.map((id) => `u-${id}`))).toEqual(
      Object.fromEntries(ids.map((id) => [`crowdpower u-${id}`, 1])),
    )

    // A second copy of the message (a queue redelivery) changes nothing and sends nothing; nor
    // does its dead letter: a parked pair is its resume's, not the dead-lettered message's to fail.
    await consume(message, { attempts: 2 })
    await consume(message, { queue: 'segment-router-dead-letters' })
    expect(await tenant.requests('calixa')).toEqual([])
    expect(
      (await readDeliveries(ids)).filter((row) => row.destination === 'Calixa').map((row) => row.status),
    ).toEqual(ids.map(() => 'paused'))

    const audit = await routerFetch(`/admin/audit?target=${source.name}:Calixa`, { headers: admin })
    expect(((await audit.json()) as { entries: unknown[] }).entries).toEqual([
      expect.objectContaining({ actor: 'admin', action: 'destination.paused', detail: 'partner migration' }),
    ])
  })

  it('pauses on its own after consecutive 401s, parking the refused pairs instead of failing them', async () => {
    const { tenant, source } = await twoPartners({ Calixa: { pauseAfterAuthFailures: 3 } })
    await tenant.fault('calixa', { status: 401, body: { error: 'invalid api key' } })

    // Two refusals: under the threshold, the pairs fail as Segment's destination would.
    const first = messageOf(source.name, 2, 'auth')
    await consume(first.message)
    expect(
      (await readDeliveries(first.ids))
        .filter((row) => row.destination === 'Calixa')
        .map((row) => row.status),
    ).toEqual(['failed', 'failed'])
    expect((await gateOf(`${source.name}:Calixa`)).paused).toBeNull()

    // The third consecutive refusal pauses Calixa; its pair is parked, as is everything after it.
    const second = messageOf(source.name, 2, 'auth')
    await consume(second.message)
    const gate = await gateOf(`${source.name}:Calixa`)
    expect(gate.paused).toMatchObject({ actor: 'router', automatic: true })
    expect(gate.paused?.reason).toContain('401/403')
    const calixa = (await readDeliveries(second.ids)).filter((row) => row.destination === 'Calixa')
    expect(calixa.map((row) => [row.status, row.reason])).toEqual([
      ['paused', 'destination_paused'],
      ['paused', 'destination_paused'],
    ])
    // Both were attempted in that batch (the third and fourth refusals in a row).
    expect(calixa.map((row) => row.attempts)).toEqual([1, 1])
    expect(await tenant.requests('calixa')).toHaveLength(4)

    // From now on Calixa is not called at all: its pairs are parked as they come.
    const third = messageOf(source.name, 1, 'auth')
    await consume(third.message)
    expect(await tenant.requests('calixa')).toHaveLength(4)
    const [parked] = (await readDeliveries(third.ids)).filter((row) => row.destination === 'Calixa')
    expect([parked?.status, parked?.attempts]).toEqual(['paused', 0])

    const audit = await routerFetch(`/admin/audit?target=${source.name}:Calixa`, { headers: admin })
    expect(((await audit.json()) as { entries: unknown[] }).entries).toEqual([
      expect.objectContaining({ actor: 'router', action: 'destination.paused' }),
    ])
  })

  it('counts only consecutive refusals: an accepted call in between starts the count again', async () => {
    const { tenant, source } = await twoPartners({ Calixa: { pauseAfterAuthFailures: 2 } })
    await tenant.fault('calixa', { status: 403, count: 1 })
    await consume(messageOf(source.name, 2, 'auth').message)
    await tenant.fault('calixa', { status: 403, count: 1 })
    await consume(messageOf(source.name, 1, 'auth').message)
    // 403, 200, 403: never two in a row.
    expect((await tenant.requests('calixa')).map((request) => request.status)).toEqual([403, 200, 403])
    expect((await gateOf(`${source.name}:Calixa`)).paused).toBeNull()
  })
})

describe("a partner's 429", () => {
  it('with Retry-After holds the whole destination: later events wait without a call or a spent retry', async () => {
    const { tenant, source } = await twoPartners()
    await tenant.fault('calixa', { status: 429, retryAfter: '120', count: 1 })
    const first = messageOf(source.name, 1, 'held')
    await consume(first.message)
    expect((await gateOf(`${source.name}:Calixa`)).holdUntil).toBeGreaterThan(Date.now() + 100_000)

    const second = messageOf(source.name, 2, 'held')
    const sends = catchQueueSends()
    const result = await consume(second.message)
    // CrowdPower delivered; Calixa was not called: the message goes on as a fresh one, delayed
    // until the hold ends, and the original is acknowledged (no queue retry spent).
    expect(await tenant.requests('calixa')).toHaveLength(1)
    expect(result.explicitAcks).toHaveLength(1)
    expect(result.retryMessages).toEqual([])
    expect(sends.messages()).toEqual([expect.objectContaining({ ingestId: second.message.ingestId })])
    const delay = vi.mocked(env.DELIVERY_QUEUE.send).mock.calls[0]?.[1]?.delaySeconds ?? 0
    expect(delay).toBeGreaterThan(100)
    expect(delay).toBeLessThanOrEqual(120)
    const rows = await readDeliveries(second.ids)
    expect(rows.map((row) => [row.destination, row.status])).toEqual(
      second.ids.map(() => ['CrowdPower', 'delivered']),
    )
  })
})

describe('a rate limit', () => {
  it('holds across concurrent consumer invocations: the partner gets no more requests than the limit', async () => {
    const { tenant, source } = await twoPartners({ Calixa: { rateLimit: { requests: 4, perSeconds: 3600 } } })
    const batches = [
      messageOf(source.name, 3, 'rate'),
      messageOf(source.name, 3, 'rate'),
      messageOf(source.name, 3, 'rate'),
    ]
    const sends = catchQueueSends()
    await Promise.all(batches.map(({ message }) => consume(message)))
    // Four of nine went; every message with pairs held back went on, delayed, as a fresh message.
    expect(await tenant.requests('calixa')).toHaveLength(4)
    const calixa = (await readDeliveries(batches.flatMap(({ ids }) => ids))).filter(
      (row) => row.destination === 'Calixa',
    )
    expect(calixa.map((row) => row.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered'])
    const continued = sends.messages()
    expect(continued.length).toBeGreaterThanOrEqual(2)
    // An hour for 4 requests: the 5 held back wait until they can all go (at most a full bucket).
    for (const [, options] of vi.mocked(env.DELIVERY_QUEUE.send).mock.calls)
      expect(options?.delaySeconds).toBeGreaterThan(800)
    expect((await gateOf(`${source.name}:Calixa`)).tokens).toBe(0)
  })

  it('counts partner requests, not events: a destination that makes several calls per event spends several', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({
      Crisp: { ...sandboxDestinations(tenant).Crisp, rateLimit: { requests: 100, perSeconds: 3600 } },
    })
    const { message } = messageOf(source.name, 2, 'crisp')
    for (const event of message.events)
      if (event.type === 'identify') event.traits = { email: `${event.messageId}@example.com` }
    await consume(message)
    const requests = (await tenant.requests('crisp')).length
    expect(requests).toBeGreaterThan(2)
    expect((await gateOf(`${source.name}:Crisp`)).tokens).toBe(100 - requests)
  })
})

describe('a destination gate that cannot be reached', () => {
  it('holds its pairs back as our own fault: nothing is sent past a pause it could not read, nothing is lost', async () => {
    const { tenant, source } = await twoPartners()
    const down = faultyNamespace(
      env.GATES,
      (method, name) => method === 'acquire' && name.endsWith(':Calixa'),
    )
    const { ids, message } = messageOf(source.name, 2, 'gate-down')
    const result = await consume(message, { vars: { GATES: down.namespace } })
    expect(result.retryMessages).toHaveLength(1)
    expect(result.delaySeconds).toBeGreaterThanOrEqual(1)
    expect(await tenant.requests('calixa')).toEqual([])
    // CrowdPower, whose gate answered, delivered; Calixa has no row yet and gets its event on the retry.
    expect((await readDeliveries(ids)).map((row) => [row.destination, row.status])).toEqual(
      ids.map(() => ['CrowdPower', 'delivered']),
    )
    await consume(message, { attempts: 2 })
    expect(await tenant.acceptedCounts(ids.map((id) => `u-${id}`))).toEqual(
      Object.fromEntries(
        ids.flatMap((id) => [
          [`calixa u-${id}`, 1],
          [`crowdpower u-${id}`, 1],
        ]),
      ),
    )
  })
})

describe('an automatic pause on call', () => {
  it('alerts once when the router pauses a destination, and once when an operator resumes it', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = { name: `src-${crypto.randomUUID().slice(0, 8)}`, writeKey: 'wk_gate_alerts_key' }
    await putConfig({
      sources: [
        { ...source, destinations: { Calixa: { ...destinations.Calixa, pauseAfterAuthFailures: 2 } } },
      ],
      alerts: { ...alertsFor(tenant), quietMinutes: 0 },
    })
    await tenant.fault('calixa', { status: 401 })
    const first = messageOf(source.name, 3, 'on-call')
    const second = messageOf(source.name, 2, 'on-call')
    await consume(first.message)
    await consume(second.message)
    const parked = [...first.ids, ...second.ids]
    expect((await readDeliveries(parked)).map((row) => row.status)).toEqual(parked.map(() => 'paused'))
    const clock = new ManualClock(Date.now())
    await cronRun(clock)
    expect(await announcements(tenant)).toEqual([`alert.opened auto_pause:${source.name}:Calixa`])

    await tenant.clearFaults()
    expect((await post(`/admin/destinations/${source.name}:Calixa/resume`)).status).toBe(200)
    clock.advance(60_000)
    await cronRun(clock)
    clock.advance(60_000)
    await cronRun(clock)
    expect(await announcements(tenant)).toEqual([
      `alert.opened auto_pause:${source.name}:Calixa`,
      `alert.resolved auto_pause:${source.name}:Calixa`,
    ])
    // The settings are good again: everything parked, the refused calls too, is delivered once.
    await vi.waitFor(
      async () =>
        expect((await readDeliveries(parked)).map((row) => row.status)).toEqual(
          parked.map(() => 'delivered'),
        ),
      { timeout: 15_000, interval: 200 },
    )
    const accepted = await tenant.acceptedCounts(parked.map((id) => `u-${id}`))
    expect(accepted).toEqual(Object.fromEntries(parked.map((id) => [`calixa u-${id}`, 1])))
  })
})

describe('resuming a paused destination', () => {
  it('sends what was parked once each: queued oldest first, paced, by a replay job', async () => {
    const { tenant, source } = await twoPartners()
    expect((await post(`/admin/destinations/${source.name}:Calixa/pause`)).status).toBe(200)
    const parked: string[] = []
    for (let index = 0; index < 4; index += 1) {
      const { ids, message } = messageOf(source.name, 1, 'parked')
      await consume(message)
      parked.push(...ids)
    }
    expect((await readDeliveries(parked)).filter((row) => row.status === 'paused')).toHaveLength(4)

    const queue = spyOnQueue()
    const resumed = await post(`/admin/destinations/${source.name}:Calixa/resume`, { rate: 2 })
    expect(resumed.status).toBe(200)
    const answer = (await resumed.json()) as {
      gate: { paused: unknown }
      replay: { jobId: string; planned: { replayable: number } }
    }
    expect(answer.gate.paused).toBeNull()
    expect(answer.replay.planned.replayable).toBe(4)

    // The job's alarm queues two a second, oldest first; the real consumer delivers them. (The
    // partner may see one page's events in any order: a destination sends a batch concurrently.)
    const rows = await waitForLedger(parked, { rows: 8, timeoutMs: 20_000 })
    expect(rows.filter((row) => row.destination === 'Calixa').map((row) => row.status)).toEqual(
      parked.map(() => 'delivered'),
    )
    const pages = queue.messages().filter((message) => message.ingestId === answer.replay.jobId)
    expect(pages.map((page) => page.events.map((event) => event.messageId))).toEqual([
      parked.slice(0, 2),
      parked.slice(2),
    ])
    expect(pages.map((page) => page.only)).toEqual([['Calixa'], ['Calixa']])
    expect(await tenant.acceptedCounts(parked.map((id) => `u-${id}`))).toEqual(
      Object.fromEntries(
        parked.flatMap((id) => [
          [`calixa u-${id}`, 1],
          [`crowdpower u-${id}`, 1],
        ]),
      ),
    )
    const audit = await routerFetch(`/admin/audit?target=${source.name}:Calixa`, { headers: admin })
    expect(
      ((await audit.json()) as { entries: { action: string }[] }).entries.map((entry) => entry.action),
    ).toEqual(['destination.resumed', 'destination.paused'])
  })
})
