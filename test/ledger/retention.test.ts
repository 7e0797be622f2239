import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { Ledger } from '../../src/ledger/ledger'
import { ROLLUP_BUCKET_MS, SHARD_MIGRATIONS } from '../../src/ledger/schema'
import type { LedgerShard } from '../../src/ledger/shard'
import { LedgerShards } from '../../src/ledger/shards'
import { ManualClock } from '../../src/lib/clock'
import { consume, consumeIdentifiesAt, readDeliveries } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { identifyEvent, messageId } from '../helpers/events'
import { ADMIN_TOKEN, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

const DAY = 24 * 60 * 60 * 1000

/** Purges every shard (`batch` orphans and bodies at a time) until none has more; returns what went. */
async function purgeAll(
  now: number,
  batch: number,
): Promise<{ events: number; bodies: number; orphaned: number }> {
  const shards = new LedgerShards(env)
  const total = { events: 0, bodies: 0, orphaned: 0 }
  for (const index of shards.all()) {
    for (;;) {
      const result = await shards.stub(index).purge(now, batch)
      total.events += result.events
      total.bodies += result.bodies
      total.orphaned += result.orphaned
      if (!result.more) break
    }
  }
  return total
}

it('purges exactly what is past retention, in batches, and keeps counts equal to what remains', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  const now = Date.now()
  const consumeAt = (daysAgo: number, ids: string[]) =>
    consumeIdentifiesAt(source.name, now - daysAgo * DAY, ids)
  const old = Array.from({ length: 9 }, () => messageId('old'))
  const recent = Array.from({ length: 3 }, () => messageId('recent'))
  const failedTenDaysAgo = messageId('failed')
  const stillRetrying = messageId('retrying')
  // Past retention by more than a partition's period (3 days): their partitions have ended.
  await consumeAt(34, old)
  await consumeAt(1, recent)
  await tenant.fault('crowdpower', { status: 400, count: 1 })
  await consumeAt(10, [failedTenDaysAgo])
  // Retrying unchanged since 40 days ago: no message is coming for it any more.
  await tenant.fault('crowdpower', { status: 429, retryAfter: '60', count: 1 })
  await consumeAt(40, [stillRetrying])
  // Parked 10 days ago while CrowdPower was paused: its body outlives the 7 days (its resume sends it).
  const parkedTenDaysAgo = messageId('parked')
  const paused = await routerFetch(`/admin/destinations/${source.name}:CrowdPower/pause`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  expect(paused.status).toBe(200)
  await consumeAt(10, [parkedTenDaysAgo])

  const result = await purgeAll(now, 2)
  expect(result.events).toBe(old.length)
  expect(result.bodies).toBe(1)
  expect(result.orphaned).toBe(1)

  expect(await readDeliveries(old)).toEqual([])
  expect((await readDeliveries(recent)).map((row) => row.status)).toEqual(recent.map(() => 'delivered'))
  // Failed as orphaned now, not purged: it is kept a retention period from this change.
  expect(await readDeliveries([stillRetrying])).toMatchObject([
    { status: 'failed', reason: 'orphaned', attempts: 1, partner_status: 429, updated_at: now },
  ])
  expect((await readDeliveries([parkedTenDaysAgo]))[0]?.status).toBe('paused')
  const kept = await new Ledger(env).countReplayable({
    filter: { messageId: parkedTenDaysAgo },
    statuses: ['paused'],
  })
  expect(kept).toEqual([{ destination: 'CrowdPower', replayable: 1, notKept: 0 }])
  // The failed event's outcome stays 30 days; its body only 7, so it can no longer be replayed.
  expect((await readDeliveries([failedTenDaysAgo]))[0]?.status).toBe('failed')
  const replay = await routerFetch('/admin/replay', {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({
      deliveries: [{ source: source.name, messageId: failedTenDaysAgo, destination: 'CrowdPower' }],
    }),
  })
  expect(await replay.json()).toMatchObject({ replayed: 0, skipped: [{ reason: 'event_not_kept' }] })

  // Rollups lost exactly the purged pairs: counts over all time equal the rows left.
  const stats = await new Ledger(env).stats({ since: 0, until: now + DAY, source: source.name })
  const counted: Record<string, number> = {}
  for (const row of stats) counted[row.status] = (counted[row.status] ?? 0) + row.count
  expect(counted).toEqual({ delivered: recent.length, failed: 2, paused: 1 })

  // A second purge finds nothing more to do.
  expect(await purgeAll(now, 2)).toMatchObject({ events: 0, bodies: 0, orphaned: 0 })
})

it('fails a pair a replay took but never queued once a retention period has passed, then purges it', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  const now = Date.now()
  const id = messageId('taken')
  await tenant.fault('crowdpower', { status: 400, count: 1 })
  await consume(
    { source: source.name, ingestId: crypto.randomUUID(), events: [identifyEvent(id)] },
    { clock: new ManualClock(now - 40 * DAY) },
  )
  // A replay takes the failed pair 35 days ago and dies before queueing it.
  const pair = { source: source.name, messageId: id, destination: 'CrowdPower' }
  const taken = await new Ledger(env).takeForReplay({ pairs: [pair] }, 1, 'replay-died', now - 35 * DAY)
  expect(taken.taken).toHaveLength(1)
  expect((await readDeliveries([id]))[0]?.status).toBe('retrying')

  // Twenty-nine days after the take a message for it could still exist: it is left alone.
  expect(await purgeAll(now - 6 * DAY, 10)).toMatchObject({ orphaned: 0, events: 0 })
  expect((await readDeliveries([id]))[0]?.status).toBe('retrying')

  expect(await purgeAll(now, 10)).toMatchObject({ orphaned: 1, events: 0 })
  expect(await readDeliveries([id])).toMatchObject([
    { status: 'failed', reason: 'orphaned', replays: 1, ingest_id: 'replay-died', updated_at: now },
  ])
  const counted = await new Ledger(env).stats({ since: 0, until: now + DAY, source: source.name })
  expect(counted).toEqual([{ destination: 'CrowdPower', status: 'failed', reason: 'orphaned', count: 1 }])

  // Settled now, it goes with the rest of its partition a retention period later: once the
  // partition's period (3 days at 30 days' retention) has ended too.
  // (Storage is shared by this file's tests: other events go too.)
  expect(await purgeAll(now + 29 * DAY, 10)).toMatchObject({ orphaned: 0 })
  expect((await readDeliveries([id]))[0]?.reason).toBe('orphaned')
  expect(await purgeAll(now + 34 * DAY, 10)).toMatchObject({ orphaned: 0 })
  expect(await readDeliveries([id])).toEqual([])
})

it('schedules each shard its own purge alarm on first write, and the alarm runs the purge', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  const id = messageId('alarm')
  await consume({ source: source.name, ingestId: crypto.randomUUID(), events: [identifyEvent(id)] })

  const shards = new LedgerShards(env)
  const alarms = await Promise.all(
    shards
      .all()
      .map((index) => runInDurableObject(shards.stub(index), (_shard, state) => state.storage.getAlarm())),
  )
  // The shard that took the write has an alarm within the hour.
  const scheduled = alarms.filter((alarm): alarm is number => alarm !== null)
  expect(scheduled.length).toBeGreaterThanOrEqual(1)
  for (const alarm of scheduled) expect(alarm).toBeLessThanOrEqual(Date.now() + 60 * 60 * 1000)
  const index = alarms.findIndex((alarm) => alarm !== null)
  expect(await runDurableObjectAlarm(shards.stub(index))).toBe(true)
  // Nothing is past retention yet: the event is still there, and the next purge is scheduled.
  expect((await readDeliveries([id]))[0]?.status).toBe('delivered')
  expect(
    await runInDurableObject(shards.stub(index), (_shard, state) => state.storage.getAlarm()),
  ).not.toBeNull()
})

it('moves rollup counts kept one row per combination into one row per bucket, counts unchanged', async () => {
  const stub = new LedgerShards(env).stub(0)
  const stats = await runInDurableObject(stub, (instance, state) => {
    const shard = instance as LedgerShard
    const sql = state.storage.sql
    // The table as the first schema wrote it, with counts a shard could hold.
    sql.exec('DROP TABLE rollups')
    sql.exec(`CREATE TABLE rollups (bucket INTEGER NOT NULL, source TEXT NOT NULL, destination TEXT NOT NULL,
      status TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
      PRIMARY KEY (bucket, source, destination, status, reason)) WITHOUT ROWID`)
    const rows: [number, string, string, string, string, number][] = [
      [10, 'web', 'Crisp', 'delivered', '', 3],
      [10, 'web', 'Crisp', 'dropped', 'unknown_user', 2],
      [10, 'app', 'Calixa', 'failed', 'partner said "no"', 1],
      [11, 'web', 'Crisp', 'delivered', '', 4],
      [12, 'web', 'Crisp', 'delivered', '', 0],
    ]
    for (const row of rows) sql.exec('INSERT INTO rollups VALUES (?, ?, ?, ?, ?, ?)', ...row)
    sql.exec(SHARD_MIGRATIONS[2] ?? '')
    const buckets = sql.exec('SELECT bucket FROM rollups ORDER BY bucket').toArray()
    return {
      buckets,
      web: shard.stats(0, 13 * ROLLUP_BUCKET_MS, 'web'),
      all: shard.stats(0, 13 * ROLLUP_BUCKET_MS),
    }
  })
  expect(stats.buckets).toEqual([{ bucket: 10 }, { bucket: 11 }])
  const sorted = (rows: { destination: string; status: string }[]) =>
    [...rows].sort((a, b) => `${a.destination}${a.status}`.localeCompare(`${b.destination}${b.status}`))
  expect(sorted(stats.web)).toEqual([
    { destination: 'Crisp', status: 'delivered', reason: null, count: 7 },
    { destination: 'Crisp', status: 'dropped', reason: 'unknown_user', count: 2 },
  ])
  expect(sorted(stats.all)).toEqual([
    { destination: 'Calixa', status: 'failed', reason: 'partner said "no"', count: 1 },
    ...sorted(stats.web),
  ])
})
