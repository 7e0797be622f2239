import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LedgerShards } from '../../src/ledger/shards'
import { ManualClock } from '../../src/lib/clock'
import { listAudit } from '../../src/operations/log'
import type { DeliveryMessage } from '../../src/queue/message'
import { getReplayJob, type ReplayJob, replayDeliveries, startReplayJob } from '../../src/queue/replay'
import type { SegmentEvent } from '../../src/segment/schema'
import { consume, readDeliveries } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { ADMIN_TOKEN, routerFetch, spyOnQueue } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Jobs here run on a ManualClock a year ahead: their pages fall due on that
 * clock only, so the runner's own alarm (system time) never takes a page
 * behind the test's back, and each tick is the test's `tick()`.
 */
function futureClock(): ManualClock {
  return new ManualClock(Date.now() + 365 * DAY_MS)
}

/** Events are consumed in the past (`days` ago), so a dry run through the API (system time) sees them. */
function pastClock(days: number): ManualClock {
  return new ManualClock(Date.now() - days * DAY_MS)
}

function runner() {
  return env.REPLAYS.get(env.REPLAYS.idFromName('router'))
}

/** One alarm's work at the clock's time: a page of every running job that is due. */
function tick(clock: ManualClock): Promise<number> {
  return runner().runDue(clock.now())
}

async function job(id: string): Promise<ReplayJob> {
  const found = await getReplayJob(env, id)
  if (!found) throw new Error(`no job ${id}`)
  return found
}

/** Catches every delivery queue send (nothing reaches the consumer): the messages, in order. */
function catchQueue() {
  const queue = spyOnQueue()
  queue.send.mockImplementation(async () => ({}) as QueueSendResponse)
  queue.sendBatch.mockImplementation(async () => ({}) as QueueSendBatchResponse)
  return queue
}

function identify(id: string): SegmentEvent {
  const at = new Date().toISOString()
  return { type: 'identify', messageId: id, userId: `user-${id}`, timestamp: at, receivedAt: at }
}

/**
 * Events consumed one by one, the clock a second further for each: their
 * `created_at` (the replay order) is the order of `ids`. Returns the ids.
 */
async function consumeInOrder(source: string, count: number, clock: ManualClock, label: string) {
  const ids = Array.from({ length: count }, () => messageId(label))
  for (const id of ids) {
    await consume({ source, ingestId: `ingest-${id}`, events: [identify(id)] }, { clock })
    clock.advance(1000)
  }
  return ids
}

/** Events of the messages a job queued, by destination, in queue order. */
function queuedBy(messages: DeliveryMessage[], jobId: string): Record<string, string[]> {
  const sent: Record<string, string[]> = {}
  for (const message of messages.filter((item) => item.ingestId === jobId)) {
    const [destination] = message.only ?? []
    if (!destination) throw new Error('a replay message without `only`')
    sent[destination] = [...(sent[destination] ?? []), ...message.events.map((event) => event.messageId)]
  }
  return sent
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('replay jobs', () => {
  it('resends per destination exactly what the dry run counted, reports progress, and audits start and end', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = await configureSource({ CrowdPower: destinations.CrowdPower, Calixa: destinations.Calixa })
    await tenant.fault('crowdpower', { status: 400 })
    await tenant.fault('calixa', { status: 400 })
    // Two events 10 days old, whose bodies the purge clears (kept 7 days), and three from yesterday.
    const events = pastClock(10)
    const old = await consumeInOrder(source.name, 2, events, 'old')
    events.advance(9 * DAY_MS)
    const kept = await consumeInOrder(source.name, 3, events, 'kept')
    const shards = new LedgerShards(env)
    for (const index of shards.all()) await shards.stub(index).purge(Date.now(), 500)
    const clock = futureClock()
    const before = await readDeliveries([...old, ...kept])
    expect(before.map((row) => row.status)).toEqual(Array(10).fill('failed'))

    const dryRun = await routerFetch('/admin/replay', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ filter: { source: source.name }, dryRun: true }),
    })
    expect(dryRun.status).toBe(200)
    const expected = {
      destinations: [
        { destination: 'Calixa', replayable: 3, notKept: 2 },
        { destination: 'CrowdPower', replayable: 3, notKept: 2 },
      ],
      replayable: 6,
      notKept: 4,
    }
    expect(await dryRun.json()).toMatchObject({ success: true, dryRun: true, plan: expected })
    // The dry run changed nothing.
    expect(await readDeliveries([...old, ...kept])).toEqual(before)

    const queue = catchQueue()
    const { jobId, planned } = await startReplayJob(
      env,
      { filter: { source: source.name }, statuses: ['failed', 'dropped'], rate: 50, actor: 'admin' },
      clock,
    )
    expect(planned).toEqual(expected)
    expect(await tick(clock)).toBe(1)
    const sent = queuedBy(queue.messages(), jobId)
    expect(sent).toEqual({ CrowdPower: kept, Calixa: kept })
    for (const [destination, ids] of Object.entries(sent))
      expect(ids.length).toBe(
        planned.destinations.find((count) => count.destination === destination)?.replayable,
      )

    expect(await job(jobId)).toMatchObject({
      state: 'done',
      actor: 'admin',
      rate: 50,
      queued: 6,
      queuedByDestination: { CrowdPower: 3, Calixa: 3 },
      skipped: { event_not_kept: 4 },
      pages: 1,
      finishedAt: clock.now(),
    })
    const progress = await routerFetch(`/admin/replays/${jobId}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(await progress.json()).toMatchObject({ replay: { id: jobId, state: 'done', queued: 6 } })
    const list = await routerFetch('/admin/replays', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
    const listed = ((await list.json()) as { replays: ReplayJob[] }).replays
    expect(listed.map((item) => item.id)).toContain(jobId)

    const audit = await listAudit(env, 10, jobId)
    expect(audit.map((entry) => [entry.action, entry.actor])).toEqual([
      ['replay.finished', 'router'],
      ['replay.started', 'admin'],
    ])
    expect(audit[0]?.detail).toBe('done: queued 6, skipped event_not_kept 4')
  })

  it('paces: at most rate × tick per tick, oldest events first across shards, and no faster when ticked early', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 400 })
    const ids = await consumeInOrder(source.name, 7, pastClock(1), 'order')
    const clock = futureClock()
    const shards = await new LedgerShards(env).group(
      ids.map((id) => ({ source: source.name, messageId: id })),
    )
    expect(shards.size).toBeGreaterThan(1)

    const queue = catchQueue()
    const { jobId } = await startReplayJob(
      env,
      { filter: { source: source.name }, statuses: ['failed'], rate: 3, actor: 'router' },
      clock,
    )
    const perTick: string[][] = []
    for (let page = 0; page < 3; page += 1) {
      const before = queue.messages().length
      await tick(clock)
      perTick.push(queuedBy(queue.messages().slice(before), jobId).CrowdPower ?? [])
      // The alarm firing again before the next second is due takes nothing.
      const early = queue.messages().length
      await tick(clock)
      expect(queue.messages().length).toBe(early)
      clock.advance(1000)
    }
    expect(perTick.map((page) => page.length)).toEqual([3, 3, 1])
    expect(perTick.flat()).toEqual(ids)
    expect(await job(jobId)).toMatchObject({ state: 'done', queued: 7, pages: 3 })
  })

  it('stops at a cancel before the next page; what it queued goes on', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 400 })
    const ids = await consumeInOrder(source.name, 5, pastClock(1), 'cancel')
    const clock = futureClock()
    const queue = catchQueue()
    const { jobId } = await startReplayJob(
      env,
      { filter: { source: source.name }, statuses: ['failed'], rate: 2, actor: 'router' },
      clock,
    )
    await tick(clock)
    expect(queuedBy(queue.messages(), jobId).CrowdPower).toEqual(ids.slice(0, 2))

    const cancel = () =>
      routerFetch(`/admin/replays/${jobId}/cancel`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    const answer = await cancel()
    expect(answer.status).toBe(200)
    expect(await answer.json()).toMatchObject({
      replay: {
        state: 'cancelled',
        cancelledBy: 'admin',
        queued: 2,
        note: expect.stringContaining('still delivered'),
      },
    })
    clock.advance(1000)
    expect(await tick(clock)).toBe(0)
    expect(queuedBy(queue.messages(), jobId).CrowdPower).toEqual(ids.slice(0, 2))
    const rows = await readDeliveries(ids)
    expect(rows.map((row) => [row.message_id, row.status])).toEqual(
      ids
        .map((id, index) => [id, index < 2 ? 'retrying' : 'failed'])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    )
    // A job already ended is not cancelled again.
    expect((await cancel()).status).toBe(409)
    const audit = await listAudit(env, 10, jobId)
    expect(audit.map((entry) => [entry.action, entry.actor])).toEqual([
      ['replay.cancelled', 'admin'],
      ['replay.started', 'router'],
    ])
  })

  it('never resends a delivered pair unless asked explicitly', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = await configureSource({ CrowdPower: destinations.CrowdPower, Calixa: destinations.Calixa })
    // Calixa fails the event (kept, for replay); CrowdPower delivers it.
    await tenant.fault('calixa', { status: 400 })
    const [id = ''] = await consumeInOrder(source.name, 1, pastClock(1), 'delivered')
    const clock = futureClock()
    expect((await readDeliveries([id])).map((row) => [row.destination, row.status])).toEqual([
      ['Calixa', 'failed'],
      ['CrowdPower', 'delivered'],
    ])
    const post = (body: unknown) =>
      routerFetch('/admin/replay', {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify(body),
      })
    const plan = async (body: unknown) => ((await (await post(body)).json()) as { plan: unknown }).plan
    expect(await plan({ filter: { source: source.name }, dryRun: true })).toEqual({
      destinations: [{ destination: 'Calixa', replayable: 1, notKept: 0 }],
      replayable: 1,
      notKept: 0,
    })
    expect(await plan({ filter: { source: source.name }, dryRun: true, includeDelivered: true })).toEqual({
      destinations: [
        { destination: 'Calixa', replayable: 1, notKept: 0 },
        { destination: 'CrowdPower', replayable: 1, notKept: 0 },
      ],
      replayable: 2,
      notKept: 0,
    })

    const queue = catchQueue()
    const pair = { source: source.name, messageId: id, destination: 'CrowdPower' }
    const exact = await post({ deliveries: [pair] })
    expect(await exact.json()).toMatchObject({
      replayed: 0,
      skipped: [{ ...pair, reason: 'status_delivered' }],
    })
    const { jobId: plain } = await startReplayJob(
      env,
      { filter: { source: source.name }, statuses: ['failed', 'dropped'], actor: 'admin' },
      clock,
    )
    await tick(clock)
    expect(queuedBy(queue.messages(), plain)).toEqual({ Calixa: [id] })
    expect((await readDeliveries([id])).find((row) => row.destination === 'CrowdPower')?.status).toBe(
      'delivered',
    )

    clock.advance(1000)
    const { jobId: asked } = await startReplayJob(
      env,
      { filter: { source: source.name }, statuses: ['failed', 'dropped', 'delivered'], actor: 'admin' },
      clock,
    )
    await tick(clock)
    // Calixa is now held by the first job (retrying): only the delivered CrowdPower pair is taken.
    expect(queuedBy(queue.messages(), asked)).toEqual({ CrowdPower: [id] })
    expect(await job(asked)).toMatchObject({ state: 'done', queued: 1 })
  })

  it('gives a pair to one replay only: a job and concurrent replays never both take it', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 400 })
    const ids = await consumeInOrder(source.name, 6, pastClock(1), 'race')
    const clock = futureClock()
    const queue = catchQueue()
    const request = {
      filter: { source: source.name },
      statuses: ['failed'] as const,
      rate: 10,
      actor: 'admin',
    }
    const first = await startReplayJob(env, request, clock)
    const second = await startReplayJob(env, request, clock)
    const pairs = ids.map((id) => ({ source: source.name, messageId: id, destination: 'CrowdPower' }))
    const [exact] = await Promise.all([
      replayDeliveries(env, { pairs, limit: 1000, actor: 'admin' }, clock),
      tick(clock),
    ])
    const messages = queue.messages()
    const byOwner = [first.jobId, second.jobId, exact.replayId].map(
      (owner) => queuedBy(messages, owner).CrowdPower ?? [],
    )
    expect(byOwner.flat().sort()).toEqual([...ids].sort())
    expect(exact.skipped.every((skip) => skip.reason === 'status_retrying')).toBe(true)
    expect(exact.replayed + exact.skipped.length).toBe(ids.length)
    // Held by a job, a pair is not the dashboard's to replay either.
    const held = byOwner[0]?.[0] ?? byOwner[1]?.[0]
    if (held) {
      const again = await replayDeliveries(
        env,
        {
          pairs: [{ source: source.name, messageId: held, destination: 'CrowdPower' }],
          limit: 1,
          actor: 'dashboard',
        },
        clock,
      )
      expect(again).toMatchObject({ replayed: 0, skipped: [{ reason: 'status_retrying' }] })
    }
  })

  it('gives a page back when the queue refuses it, and tries it again on the next tick', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 400 })
    const ids = await consumeInOrder(source.name, 2, pastClock(1), 'refused')
    const clock = futureClock()
    const queue = catchQueue()
    queue.send.mockRejectedValueOnce(new Error('queue down'))
    const { jobId } = await startReplayJob(
      env,
      { filter: { source: source.name }, statuses: ['failed'], actor: 'admin' },
      clock,
    )
    await tick(clock)
    expect((await readDeliveries(ids)).map((row) => row.status)).toEqual(['failed', 'failed'])
    expect(await job(jobId)).toMatchObject({ state: 'running', queued: 0, lastError: expect.any(String) })
    const refused = queue.messages().length
    clock.advance(2000)
    await tick(clock)
    expect(queuedBy(queue.messages().slice(refused), jobId).CrowdPower).toEqual(ids)
    expect(await job(jobId)).toMatchObject({ state: 'done', queued: 2, lastError: null })
  })
})
