import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { Ledger } from '../../src/ledger/ledger'
import { SHARD_MIGRATIONS } from '../../src/ledger/schema'
import type { LedgerShard } from '../../src/ledger/shard'
import type { DeliveryFilter, LedgerRow, ListCursor } from '../../src/ledger/types'
import { ManualClock } from '../../src/lib/clock'
import { consume, consumeIdentifiesAt, messageIdOnShardOf } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { identifyEvent, messageId } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

const DAY = 24 * 60 * 60 * 1000

/** Every row of a source's deliveries list, page by page. */
async function listAll(source: string, pageSize: number) {
  const ledger = new Ledger(env)
  const rows = []
  let cursor: string | undefined
  do {
    const page = await ledger.list({ source }, pageSize, cursor)
    rows.push(...page.deliveries)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return rows
}

it("lists an event once, where its latest change puts it, even when a caller's clock steps back", async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  const now = Date.now()
  const consumeAt = (at: number, id: string) => consumeIdentifiesAt(source.name, at, [id])
  // All on one shard: a shard orders its own changes (shards merge by their recorded times).
  const failed = messageId('failed')
  const later = await messageIdOnShardOf(source.name, failed, 'later')
  const skewed = await messageIdOnShardOf(source.name, failed, 'skewed')
  await tenant.fault('crowdpower', { status: 400, count: 1 })
  await consumeAt(now - 3000, failed)
  await consumeAt(now - 2000, later)
  // A replay changes the failed event again: it moves to the top, and its first change is stale.
  const pair = { source: source.name, messageId: failed, destination: 'CrowdPower' }
  expect(
    (await new Ledger(env).takeForReplay({ pairs: [pair] }, 1, 'replay-1', now - 1000)).taken,
  ).toHaveLength(1)
  // Recorded last with an earlier clock: still listed as the latest change.
  await consumeAt(now - 5000, skewed)

  for (const pageSize of [1, 2, 10]) {
    const rows = await listAll(source.name, pageSize)
    expect(rows.map((row) => [row.message_id, row.status])).toEqual([
      [skewed, 'delivered'],
      [failed, 'retrying'],
      [later, 'delivered'],
    ])
  }
  const [skewedRow, failedRow] = await listAll(source.name, 10)
  expect(skewedRow?.updated_at).toBe(now - 5000)
  expect(failedRow?.recorded_us).toBeGreaterThanOrEqual((now - 1000) * 1000)
  // `since` bounds the walk without losing what changed in the window.
  const recent = await new Ledger(env).list({ source: source.name, since: now - 1500 }, 10)
  expect(recent.deliveries.map((row) => row.message_id)).toEqual([failed])
})

it('merges shards whose changes share a time by key alone', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  const ids = Array.from({ length: 12 }, () => messageId('tie'))
  // Later than anything recorded before: every shard places this change at exactly this time.
  const clock = new ManualClock(Date.now() + DAY)
  await consume(
    { source: source.name, ingestId: crypto.randomUUID(), events: ids.map((id) => identifyEvent(id)) },
    { clock },
  )
  const rows = await listAll(source.name, 1)
  expect(new Set(rows.map((row) => row.recorded_us))).toEqual(new Set([clock.now() * 1000]))
  expect(rows.map((row) => row.message_id)).toEqual([...ids].sort().reverse())
})

it('moves events kept before the changes table into it and into the first partition: list order kept, dropped whole', async () => {
  const stub = env.LEDGER.get(env.LEDGER.idFromName('changes-migration'))
  const result = await runInDurableObject(stub, (instance, state) => {
    const shard = instance as LedgerShard
    const sql = state.storage.sql
    // The shard as schema entries 1–3 left it: events e00…e49 changed a millisecond apart
    // (one change row each, so the list walks several spans), and two in the same millisecond.
    sql.exec('DROP TABLE partitions; DROP TABLE changes; DROP TABLE events; DROP TABLE rollups')
    for (const entry of SHARD_MIGRATIONS.slice(0, 3)) sql.exec(entry)
    const insert = (id: string, updatedAt: number, status: string) =>
      sql.exec(
        `INSERT INTO events (source, message_id, ingest_id, event_type, destinations, created_at, updated_at)
         VALUES ('web', ?, 'i', 'identify', json_object('Crisp', json_object('s', ?)), ?, ?)`,
        id,
        status,
        updatedAt,
        updatedAt,
      )
    for (let n = 0; n < 50; n += 1)
      insert(`e${String(n).padStart(2, '0')}`, 10_000 + n, n % 10 === 3 ? 'failed' : 'delivered')
    insert('a', 1000, 'delivered')
    insert('b', 1000, 'delivered')
    for (const entry of SHARD_MIGRATIONS.slice(3, 5)) sql.exec(entry)

    const pageAll = (filter: DeliveryFilter, size: number) => {
      const rows: LedgerRow[] = []
      let cursor: ListCursor | null = null
      for (;;) {
        const page = shard.list(filter, size, cursor)
        rows.push(...page)
        const last = page.at(-1)
        if (page.length < size || !last) return rows.map((row) => row.message_id)
        cursor = {
          recordedUs: last.recorded_us,
          source: last.source,
          messageId: last.message_id,
          destination: last.destination,
        }
      }
    }
    const listed = pageAll({}, 7)
    const failed = pageAll({ status: 'failed' }, 2)
    const newest = shard.list({}, 1, null)[0]?.recorded_us
    // Those tables are one partition, up to its latest change (10 049 ms): dropped once that is past retention.
    const early = shard.purge(10_048 + 30 * DAY)
    const purged = shard.purge(10_050 + 30 * DAY)
    const left = pageAll({}, 100)
    const tables = sql.exec("SELECT name FROM sqlite_master WHERE name IN ('events', 'changes')").toArray()
    const partitions = sql.exec('SELECT suffix FROM partitions').toArray()
    return { listed, failed, newest, early, purged, left, tables, partitions }
  })
  const recent = Array.from({ length: 50 }, (_, n) => `e${String(49 - n).padStart(2, '0')}`)
  expect(result.listed).toEqual([...recent, 'b', 'a'])
  expect(result.failed).toEqual(['e43', 'e33', 'e23', 'e13', 'e03'])
  expect(result.newest).toBe(10_049_000)
  expect(result.early).toMatchObject({ events: 0, more: false })
  expect(result.purged).toMatchObject({ events: 52, more: false })
  expect(result.left).toEqual([])
  expect(result.tables).toEqual([])
  // A shard always keeps a partition to write to.
  expect(result.partitions).toHaveLength(1)
  expect(result.partitions[0]?.suffix).not.toBe('')
})
