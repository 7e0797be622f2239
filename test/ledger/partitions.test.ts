import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { Ledger } from '../../src/ledger/ledger'
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
