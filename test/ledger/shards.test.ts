import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { type Capacity, Ledger } from '../../src/ledger/ledger'
import { LedgerShards } from '../../src/ledger/shards'
import type { LedgerRow } from '../../src/ledger/types'
import { ManualClock } from '../../src/lib/clock'
import type { DeliveryMessage } from '../../src/queue/message'
import type { SegmentEvent } from '../../src/segment/schema'
import { consume, readDeliveries } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

function event(type: 'identify' | 'alias' | 'page', id: string): SegmentEvent {
  const now = new Date().toISOString()
  const base = { messageId: id, userId: `u-${id}`, receivedAt: now, timestamp: now }
  if (type === 'alias') return { ...base, type, previousId: `anon-${id}` }
  if (type === 'page') return { ...base, type, name: 'Home' }
  return { ...base, type, traits: { email: 's@example.com' } }
}

describe('one event, one shard', () => {
  it('spreads events over every shard, and finds each one on the shard that holds it', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    // Aliases are dropped by routing (CrowdPower takes no alias): rows without partner calls.
    const ids = Array.from({ length: 40 }, () => messageId('spread'))
    await consume({
      source: source.name,
      ingestId: crypto.randomUUID(),
      events: ids.map((id) => event('alias', id)),
    })

    const shards = new LedgerShards(env)
    expect(shards.count).toBe(4)
    const perShard = await Promise.all(
      shards
        .all()
        .map(async (index) => (await shards.stub(index).list({ source: source.name }, 100, null)).length),
    )
    expect(perShard.reduce((sum, count) => sum + count, 0)).toBe(ids.length)
    expect(perShard.every((count) => count > 0)).toBe(true)

    const looked = await new Ledger(env).lookup(ids.map((id) => ({ source: source.name, messageId: id })))
    expect(looked.map((row) => row.message_id).sort()).toEqual([...ids].sort())
  })
})

describe('reads across shards', () => {
  it('pages through every row exactly once, in order, with a cursor that resumes every shard', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = await configureSource({ CrowdPower: destinations.CrowdPower, Calixa: destinations.Calixa })
    const ids = Array.from({ length: 23 }, () => messageId('page'))
    // Three messages consumed one after another, so events carry different times.
    for (const part of [ids.slice(0, 8), ids.slice(8, 16), ids.slice(16)]) {
      await consume({
        source: source.name,
        ingestId: crypto.randomUUID(),
        events: part.map((id) => event('alias', id)),
      })
      await new Promise((resolve) => setTimeout(resolve, 5))
    }

    const ledger = new Ledger(env)
    const seen: LedgerRow[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await ledger.list({ source: source.name }, 7, cursor)
      seen.push(...page.deliveries)
      cursor = page.nextCursor ?? undefined
      pages += 1
    } while (cursor)
    expect(pages).toBe(Math.ceil((ids.length * 2) / 7))
    const keys = seen.map((row) => `${row.message_id} ${row.destination}`)
    expect(new Set(keys).size).toBe(ids.length * 2)
    expect(keys.sort()).toEqual(ids.flatMap((id) => [`${id} Calixa`, `${id} CrowdPower`]).sort())
    for (let index = 1; index < seen.length; index += 1) {
      expect(seen[index]?.recorded_us).toBeLessThanOrEqual(seen[index - 1]?.recorded_us ?? 0)
    }
  })

  it("merges shards in SQLite's text order, so ids past U+FFFF page exactly once", async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    // UTF-16 puts U+1F600 (a surrogate pair) before U+FFFD; UTF-8 and SQLite put it after.
    const ids = ['\u{1F600}', '\uFFFD', 'z', '\u{1F601}', '\uE000', 'a'].flatMap((lead) =>
      [1, 2].map((n) => `${lead}-${n}-${crypto.randomUUID()}`),
    )
    // One message at a time later than anything recorded: every shard places its change at
    // exactly that time, so the order between shards is the ids' alone.
    await consume(
      { source: source.name, ingestId: crypto.randomUUID(), events: ids.map((id) => event('alias', id)) },
      { clock: new ManualClock(Date.now() + 24 * 60 * 60 * 1000) },
    )
    const ledger = new Ledger(env)
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await ledger.list({ source: source.name }, 1, cursor)
      seen.push(...page.deliveries.map((row) => row.message_id))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    expect([...seen].sort()).toEqual([...ids].sort())
    expect(new Set(seen).size).toBe(ids.length)
  })

  it('counts from rollups exactly what a full read of the rows counts, after a mixed workload', async () => {
    const tenant = new SandboxTenant()
    const destinations = sandboxDestinations(tenant)
    const source = await configureSource({ CrowdPower: destinations.CrowdPower, Calixa: destinations.Calixa })
    await tenant.fault('calixa', { status: 400, count: 2 })
    await tenant.fault('crowdpower', { status: 503, count: 1 })
    const types = ['identify', 'alias', 'page', 'identify', 'page', 'alias', 'identify'] as const
    const ids = types.map(() => messageId('mixed'))
    const message: DeliveryMessage = {
      source: source.name,
      ingestId: crypto.randomUUID(),
      events: types.map((type, index) => event(type, ids[index] ?? '')),
    }
    await consume(message)
    // A re-sent copy (another request) is a duplicate, not counted as a pair.
    await consume({ ...message, ingestId: crypto.randomUUID() })

    const rows = await readDeliveries(ids)
    const fullCount = new Map<string, number>()
    for (const row of rows) {
      const key = `${row.destination} ${row.status} ${row.reason ?? ''}`
      fullCount.set(key, (fullCount.get(key) ?? 0) + 1)
    }
    const stats = await new Ledger(env).stats({ since: 0, until: Date.now() + 60_000, source: source.name })
    const fromRollups = new Map(
      stats.map((row) => [`${row.destination} ${row.status} ${row.reason ?? ''}`, row.count]),
    )
    expect(fromRollups).toEqual(fullCount)
    // Several statuses were in play, so the comparison means something.
    expect(new Set(rows.map((row) => row.status)).size).toBeGreaterThanOrEqual(3)
    expect(rows.every((row) => row.duplicates === 1)).toBe(true)
  })
})

describe('dedupe across concurrent consumers', () => {
  it('delivers each messageId once when two consumers take two copies at the same moment', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    const ids = Array.from({ length: 6 }, () => messageId('concurrent'))
    const copy = () => ({
      source: source.name,
      ingestId: crypto.randomUUID(),
      events: ids.map((id) => event('identify', id)),
    })

    const results = await Promise.all([consume(copy()), consume(copy())])
    for (const result of results) expect(result.explicitAcks).toHaveLength(1)

    const users = ids.map((id) => `u-${id}`)
    expect(await tenant.acceptedCounts(users)).toEqual(
      Object.fromEntries(users.map((user) => [`crowdpower ${user}`, 1])),
    )
    const rows = await readDeliveries(ids)
    expect(rows.map((row) => [row.status, row.duplicates])).toEqual(ids.map(() => ['delivered', 1]))
  })
})

describe('raising the shard count', () => {
  it('keeps each event on the shard that first wrote it, so dedupe and look-ups still find it', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    const ids = Array.from({ length: 24 }, () => messageId('raise'))
    const message = () => ({
      source: source.name,
      ingestId: crypto.randomUUID(),
      events: ids.map((id) => event('identify', id)),
    })
    await consume(message())

    const raised = { ...env, LEDGER_SHARDS: '8', LEDGER_SHARDS_PREVIOUS: '4' }
    // Some keys hash to a new shard under 8: those must still be found where they were written.
    const before = new LedgerShards(env)
    const after = new LedgerShards({ ...raised, LEDGER_SHARDS_PREVIOUS: undefined })
    const placed = await Promise.all(
      ids.map(async (id) => {
        const key = [{ source: source.name, messageId: id }]
        return [...(await before.group(key)).keys()][0] !== [...(await after.group(key)).keys()][0]
      }),
    )
    expect(placed.filter(Boolean).length).toBeGreaterThan(0)

    // A client re-sends every event after the raise: each is a duplicate, delivered nowhere again.
    const resent = await consume(message(), { vars: raised })
    expect(resent.explicitAcks).toHaveLength(1)
    const users = ids.map((id) => `u-${id}`)
    expect(await tenant.acceptedCounts(users)).toEqual(
      Object.fromEntries(users.map((user) => [`crowdpower ${user}`, 1])),
    )
    const rows = await new Ledger(raised).lookup(ids.map((id) => ({ source: source.name, messageId: id })))
    expect(rows.map((row) => [row.status, row.duplicates])).toEqual(ids.map(() => ['delivered', 1]))
  })
})

describe('capacity', () => {
  it('reports every shard against its 10 GB, and warns in stats and on the dashboard past the warning share', async () => {
    const ADMIN = { Authorization: 'Bearer test-admin-token' }
    const fetchWith = (path: string, vars: Record<string, string> = {}) =>
      worker.fetch(
        new Request(`http://router.test${path}`, { headers: ADMIN }),
        { ...env, ...vars },
        createExecutionContext(),
      )
    const stats = (await (await fetchWith('/admin/stats')).json()) as { capacity: Capacity }
    expect(stats.capacity).toMatchObject({ shards: 4, shardLimitBytes: 10 * 1024 ** 3, warning: null })
    expect(stats.capacity.bytes).toBeGreaterThan(0)
    expect((await (await fetchWith('/admin')).text()).includes('Ledger storage:')).toBe(false)

    // A share so small that any shard with tables passes it.
    const tight = { LEDGER_WARNING_SHARE: '0.0000001' }
    const warned = (await (await fetchWith('/admin/stats', tight)).json()) as { capacity: Capacity }
    expect(warned.capacity.warning).toMatch(/raise LEDGER_SHARDS/)
    expect(await (await fetchWith('/admin', tight)).text()).toContain('Ledger storage:')
  })
})
