import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { LedgerShards } from '../../src/ledger/shards'
import { inflateText } from '../../src/lib/deflate'
import { type LedgerRow, readDelivery, waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { ADMIN_TOKEN, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

async function crowdPowerOnly() {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  return { tenant, source }
}

function track(id: string) {
  return {
    type: 'track',
    messageId: id,
    userId: `user-${id}`,
    event: 'Report Exported',
    properties: { format: 'csv' },
  }
}

async function replay(body: unknown): Promise<{ replayed: number; skipped: { reason: string }[] }> {
  const response = await routerFetch('/admin/replay', {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(body),
  })
  expect(response.status, await response.clone().text()).toBe(200)
  return (await response.json()) as { replayed: number; skipped: { reason: string }[] }
}

async function rowOf(id: string): Promise<LedgerRow | undefined> {
  return readDelivery(id)
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('dedupe', () => {
  it('delivers a re-sent messageId once and records the duplicate', async () => {
    const { tenant, source } = await crowdPowerOnly()
    const id = messageId('dup')
    await sendBatch(source.writeKey, [track(id)])
    await waitForLedger([id], { rows: 1 })
    await sendBatch(source.writeKey, [track(id)])

    await until(async () => (await rowOf(id))?.duplicates === 1)
    expect(await rowOf(id)).toMatchObject({ status: 'delivered', attempts: 1, duplicates: 1 })
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
  })
})

describe('dedupe within one request', () => {
  it('delivers two copies of a messageId in the same batch once', async () => {
    const { tenant, source } = await crowdPowerOnly()
    const id = messageId('twin')
    await sendBatch(source.writeKey, [track(id), track(id)])

    await until(async () => (await rowOf(id))?.duplicates === 1)
    expect(await rowOf(id)).toMatchObject({ status: 'delivered', attempts: 1, duplicates: 1 })
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
  })
})

describe('replay', () => {
  it('re-delivers a failed delivery once the partner recovers, and only once', async () => {
    const { tenant, source } = await crowdPowerOnly()
    await tenant.fault('crowdpower', { status: 400, body: { success: false, code: 400 }, count: 1 })
    const id = messageId('replay')
    await sendBatch(source.writeKey, [track(id)])
    const [failed] = await waitForLedger([id], { rows: 1 })
    expect(failed?.status).toBe('failed')

    const key = { source: source.name, messageId: id, destination: 'CrowdPower' }
    expect((await replay({ deliveries: [key] })).replayed).toBe(1)
    await until(async () => (await rowOf(id))?.status === 'delivered')
    expect(await rowOf(id)).toMatchObject({ status: 'delivered', replays: 1, attempts: 2 })

    // A second replay finds nothing failed: it queues nothing and says why.
    const again = await replay({ deliveries: [key] })
    expect(again.replayed).toBe(0)
    expect(again.skipped).toEqual([expect.objectContaining({ reason: 'status_delivered' })])
    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => request.status)).toEqual([400, 200])
  })

  it('replays by filter and refuses a request that gives neither keys nor filter', async () => {
    const { tenant, source } = await crowdPowerOnly()
    await tenant.fault('crowdpower', { status: 422, count: 2 })
    const ids = [messageId('rf'), messageId('rf')]
    await sendBatch(source.writeKey, ids.map(track))
    const rows = await waitForLedger(ids, { rows: 2 })
    expect(rows.map((row) => row.status)).toEqual(['failed', 'failed'])

    // A replay by filter is a job: it answers its plan at once (202), then its alarm queues it.
    const started = await routerFetch('/admin/replay', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ filter: { source: source.name, destination: 'CrowdPower', status: 'failed' } }),
    })
    expect(started.status, await started.clone().text()).toBe(202)
    const job = (await started.json()) as { jobId: string; plan: { replayable: number } }
    expect(job.plan.replayable).toBe(2)
    await until(async () => (await Promise.all(ids.map(rowOf))).every((row) => row?.status === 'delivered'))
    const progress = await routerFetch(`/admin/replays/${job.jobId}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(await progress.json()).toMatchObject({ replay: { state: 'done', queued: 2 } })

    const invalid = await routerFetch('/admin/replay', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({}),
    })
    expect(invalid.status).toBe(400)
  })

  it('keeps a failed event deflated, and resends it as first sent, as it does a body kept as text before', async () => {
    const { tenant, source } = await crowdPowerOnly()
    await tenant.fault('crowdpower', { status: 400, body: { success: false, code: 400 }, count: 2 })
    // Text outside ASCII and a long repeated property: the round trip must keep every code point.
    const events = [messageId('deflated'), messageId('text')].map((id) => ({
      ...track(id),
      properties: { format: 'csv', note: 'naïve ✓ 😀 '.repeat(40) },
    }))
    await sendBatch(source.writeKey, events)
    const ids = events.map((event) => event.messageId)
    expect((await waitForLedger(ids, { rows: 2 })).map((row) => row.status)).toEqual(['failed', 'failed'])

    const shards = new LedgerShards(env)
    const keys = ids.map((id) => ({ source: source.name, messageId: id }))
    for (const [index, group] of await shards.group(keys)) {
      await runInDurableObject(shards.stub(index), async (_shard, state) => {
        // Just written: in the shard's newest partition (docs/storage.md).
        const { suffix } = state.storage.sql
          .exec<{ suffix: string }>('SELECT suffix FROM partitions ORDER BY first_us DESC LIMIT 1')
          .one()
        for (const key of group) {
          const [row] = state.storage.sql
            .exec<{ body: ArrayBuffer }>(
              `SELECT body FROM events${suffix} WHERE source = ? AND message_id = ?`,
              key.source,
              key.messageId,
            )
            .toArray()
          if (!row) throw new Error(`no row for ${key.messageId}`)
          expect(row.body).toBeInstanceOf(ArrayBuffer)
          const text = await inflateText(row.body)
          expect(row.body.byteLength).toBeLessThan(new TextEncoder().encode(text).byteLength / 2)
          // A row written before bodies were deflated holds the text itself.
          if (key.messageId === ids[1])
            state.storage.sql.exec(
              `UPDATE events${suffix} SET body = ? WHERE source = ? AND message_id = ?`,
              text,
              key.source,
              key.messageId,
            )
        }
      })
    }

    const deliveries = ids.map((id) => ({ source: source.name, messageId: id, destination: 'CrowdPower' }))
    expect((await replay({ deliveries })).replayed).toBe(2)
    await until(async () => (await Promise.all(ids.map(rowOf))).every((row) => row?.status === 'delivered'))
    const requests = await tenant.requests('crowdpower')
    for (const id of ids) {
      const sent = requests.filter((request) => JSON.stringify(request.body).includes(id))
      expect(sent.map((request) => request.status)).toEqual([400, 200])
      expect(sent[1]?.body).toEqual(sent[0]?.body)
    }
  })
})
