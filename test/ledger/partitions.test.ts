import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { Ledger } from '../../src/ledger/ledger'
import type { Partitions } from '../../src/ledger/partitions'
import { LedgerShards } from '../../src/ledger/shards'
import { consumeIdentifiesAt, messageIdOnShardOf, readDeliveries } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

const DAY = 24 * 60 * 60 * 1000

it('moves an event changed in a later period out of its partition, and drops the old period whole', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  const start = Date.now() - 40 * DAY
  const consumeAt = (at: number, id: string) => consumeIdentifiesAt(source.name, at, [id])
  const replayed = messageId('replayed')
  const settled = await messageIdOnShardOf(source.name, replayed, 'settled')
  await tenant.fault('crowdpower', { status: 400, count: 1 })
  await consumeAt(start, replayed)
  await consumeAt(start + 60_000, settled)
  // Five days on (past the first 3-day period) a replay takes the failed pair: a change in a later period.
  const pair = { source: source.name, messageId: replayed, destination: 'CrowdPower' }
  const taken = await new Ledger(env).takeForReplay({ pairs: [pair] }, 1, 'replay-1', start + 5 * DAY)
  expect(taken.taken).toHaveLength(1)
  const shards = new LedgerShards(env)
  const [shard] = [...(await shards.group([pair])).keys()]
  const partitionsOf = () =>
    runInDurableObject(shards.stub(shard ?? 0), (_instance, state) =>
      state.storage.sql
        .exec<{ suffix: string; end_us: number }>('SELECT suffix, end_us FROM partitions ORDER BY first_us')
        .toArray(),
    )
  const before = await partitionsOf()

  // Retention 30 days past the first period's end: that period goes, with the event still in it.
  const cutoff = start + 4 * DAY
  const ledger = new Ledger(env)
  for (const index of shards.all()) while ((await shards.stub(index).purge(cutoff + 30 * DAY)).more);
  const after = await partitionsOf()
  expect(after.length).toBe(before.length - before.filter((p) => p.end_us <= cutoff * 1000).length)
  expect(after.every((p) => p.end_us > cutoff * 1000)).toBe(true)

  expect(await readDeliveries([settled])).toEqual([])
  // The moved event is kept once, as the replay left it.
  expect(await readDeliveries([replayed])).toMatchObject([
    { status: 'retrying', ingest_id: 'replay-1', updated_at: start + 5 * DAY },
  ])
  // Counts lost exactly the dropped period's pairs.
  expect(await ledger.stats({ since: 0, until: Date.now(), source: source.name })).toEqual([
    { destination: 'CrowdPower', status: 'retrying', reason: 'http_400', count: 1 },
  ])
})

it('reads, lists, counts and drops across more partitions than one SQLite compound statement takes', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  // After everything this file's other tests did (a shard places changes in order, and a
  // purge opens a partition at its own time when it dropped a shard's last).
  const start = Date.now()
  // Thirteen events on one shard, each in a period of its own (3 days at 30 days' retention).
  const first = messageId('p00')
  const ids = [first]
  for (let n = 1; n < 13; n += 1)
    ids.push(await messageIdOnShardOf(source.name, first, `p${String(n).padStart(2, '0')}`))
  for (const [n, id] of ids.entries()) await consumeIdentifiesAt(source.name, start + n * 3 * DAY, [id])
  const ledger = new Ledger(env)
  const keys = ids.map((id) => ({ source: source.name, messageId: id }))

  expect((await ledger.lookup(keys)).map((row) => row.message_id).sort()).toEqual([...ids].sort())
  expect((await readDeliveries(ids)).map((row) => row.status)).toEqual(ids.map(() => 'delivered'))
  const listed = await ledger.list({ source: source.name }, 100)
  expect(listed.deliveries.map((row) => row.message_id)).toEqual([...ids].reverse())
  expect(await ledger.countReplayable({ filter: { source: source.name }, statuses: ['delivered'] })).toEqual([
    { destination: 'CrowdPower', replayable: 0, notKept: 13 },
  ])

  // Past retention: the periods of the first five events (each ends within 3 days of its event;
  // the sixth's, at the cutoff itself, runs on past it).
  const shards = new LedgerShards(env)
  const [shard] = [...(await shards.group(keys.slice(0, 1))).keys()]
  const cutoff = start + 5 * 3 * DAY
  let dropped = 0
  for (;;) {
    const result = await shards.stub(shard ?? 0).purge(cutoff + 30 * DAY)
    dropped += result.events
    if (!result.more) break
  }
  expect(dropped).toBe(5)
  expect((await ledger.lookup(keys)).map((row) => row.message_id).sort()).toEqual(ids.slice(5).sort())
  expect(await ledger.stats({ since: 0, until: start + 40 * DAY, source: source.name })).toEqual([
    { destination: 'CrowdPower', status: 'delivered', reason: null, count: 8 },
  ])
})

it('forgets a partition a failed transaction created, so the next write neither misses it nor finds a table that is gone', async () => {
  const stub = env.LEDGER.get(env.LEDGER.idFromName('partition-rollback'))
  const result = await runInDurableObject(stub, (instance, state) => {
    // The shard's own transaction and partitions, reached as the shard reaches them.
    const shard = instance as unknown as {
      transaction<T>(body: () => T): T
      partitions: Partitions
      holds(keys: { source: string; messageId: string }[]): boolean[]
    }
    const stored = () =>
      state.storage.sql
        .exec<{ suffix: string }>('SELECT suffix FROM partitions ORDER BY first_us DESC')
        .toArray()
        .map((row) => row.suffix)
    const before = stored()
    let failure: unknown
    try {
      shard.transaction(() => {
        shard.partitions.forChange((Date.now() + 10 * DAY) * 1000)
        throw new Error('storage failed mid-write')
      })
    } catch (error) {
      failure = error
    }
    return {
      failure: String(failure),
      before,
      after: stored(),
      cached: shard.partitions.all().map((partition) => partition.suffix),
      holds: shard.holds([{ source: 'web', messageId: 'm' }]),
    }
  })
  expect(result.failure).toContain('storage failed mid-write')
  expect(result.after).toEqual(result.before)
  expect(result.cached).toEqual(result.before)
  expect(result.holds).toEqual([false])
})
