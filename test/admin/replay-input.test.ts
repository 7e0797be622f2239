import { afterEach, describe, expect, it, vi } from 'vitest'
import { readDelivery, waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { ADMIN_TOKEN, routerFetch, spyOnQueue } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

function post(path: string, body: unknown): Promise<Response> {
  return routerFetch(path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(body),
  })
}

function get(path: string): Promise<Response> {
  return routerFetch(path, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
}

function cursorOf(value: unknown): string {
  return encodeURIComponent(btoa(encodeURIComponent(JSON.stringify(value))))
}

afterEach(() => {
  vi.restoreAllMocks()
})

interface ErrorBody {
  error: string
  issues?: { path: string; message: string }[]
}

describe('POST /admin/replay never widens to everything on malformed input', () => {
  it('refuses a filter that is not an object, an empty filter, and "all" mixed with criteria; queues nothing', async () => {
    const queue = spyOnQueue()
    for (const body of [
      { filter: [] },
      { filter: {} },
      { filter: { source: undefined } },
      { filter: { all: true, source: 'web' } },
      { filter: { all: false } },
      { filter: 'all' },
      [],
      { deliveries: [] },
      { deliveries: {} },
      { filter: { source: 'web' }, deliveries: [{ source: 'web', messageId: 'm', destination: 'Crisp' }] },
    ]) {
      const response = await post('/admin/replay', body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      const error = (await response.json()) as ErrorBody
      expect(error.error).toBe('invalid_replay')
      expect(error.issues?.length).toBeGreaterThan(0)
    }
    const arrayFilter = (await (await post('/admin/replay', { filter: [] })).json()) as ErrorBody
    expect(arrayFilter.issues?.[0]?.path).toBe('filter')
    expect(queue.requests()).toEqual([])
  })

  it('replays every failed or dropped pair only when asked with {"all": true}', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 400, count: 1 })
    const id = messageId('all')
    await sendBatch(source.writeKey, [{ type: 'identify', messageId: id, userId: `u-${id}` }])
    await waitForLedger([id], { rows: 1 })

    // `limit` bounds exact deliveries only: with a filter the job resends all it plans.
    const withLimit = await post('/admin/replay', { filter: { all: true }, limit: 1000 })
    expect(withLimit.status).toBe(400)
    expect(((await withLimit.json()) as ErrorBody).issues?.[0]?.path).toBe('limit')

    const response = await post('/admin/replay', { filter: { all: true } })
    expect(response.status).toBe(202)
    const result = (await response.json()) as { jobId: string; plan: { replayable: number } }
    expect(result.plan.replayable).toBeGreaterThanOrEqual(1)
    // The job's alarm queues it; the consumer then delivers it.
    const deadline = Date.now() + 15_000
    while ((await readDelivery(id))?.status !== 'delivered') {
      if (Date.now() > deadline) throw new Error('the replay job did not deliver the pair in time')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(await readDelivery(id)).toMatchObject({ status: 'delivered', replays: 1 })
    const progress = (await (await get(`/admin/replays/${result.jobId}`)).json()) as {
      replay: { state: string }
    }
    expect(progress.replay.state).toBe('done')
  })

  it('refuses what a replay job must not be asked, and queues nothing', async () => {
    const queue = spyOnQueue()
    const pair = { source: 'web', messageId: 'm', destination: 'CrowdPower' }
    const refused: [unknown, string][] = [
      [{ filter: { status: 'delivered' } }, 'filter.status'],
      [{ filter: { status: 'delivered' }, includeDelivered: false }, 'filter.status'],
      [{ filter: { source: 'web' }, rate: 0 }, 'rate'],
      [{ filter: { source: 'web' }, rate: 501 }, 'rate'],
      [{ filter: { source: 'web' }, rate: 2.5 }, 'rate'],
      [{ filter: { source: 'web' }, rate: '50' }, 'rate'],
      [{ deliveries: [pair], rate: 5 }, 'rate'],
      [{ filter: { source: 'web' }, dryRun: 'yes' }, 'dryRun'],
      [{ filter: { source: 'web' }, includeDelivered: 1 }, 'includeDelivered'],
    ]
    for (const [body, path] of refused) {
      const response = await post('/admin/replay', body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(((await response.json()) as ErrorBody).issues?.map((issue) => issue.path)).toContain(path)
    }
    for (const path of ['/admin/replays/not-a-job', '/admin/replays/replay-1234']) {
      expect((await get(path)).status, path).toBe(400)
      expect((await post(`${path}/cancel`, {})).status, path).toBe(400)
    }
    const unknown = `/admin/replays/replay-${crypto.randomUUID()}`
    expect((await get(unknown)).status).toBe(404)
    expect((await post(`${unknown}/cancel`, {})).status).toBe(404)
    for (const limit of ['0', '101', 'x', '1.5'])
      expect((await get(`/admin/replays?limit=${limit}`)).status).toBe(400)
    expect(queue.requests()).toEqual([])
  })
})

describe('GET /admin/deliveries refuses forged cursors and oversized filters with a 400', () => {
  it('answers 400 naming the cursor for every cursor it did not hand out', async () => {
    const forged = [
      cursorOf({ recordedUs: 1e308, source: 'web', messageId: 'm', destination: 'Crisp' }),
      cursorOf({ recordedUs: 1, source: 'web', messageId: [], destination: 'Crisp' }),
      cursorOf({ recordedUs: 1, source: 'web', messageId: 'm', destination: {} }),
      cursorOf([1, 'web', 'm', 'Crisp']),
      cursorOf(null),
      'not-base64!!',
      encodeURIComponent(btoa('{"recordedUs":')),
      'x'.repeat(3000),
    ]
    for (const cursor of forged) {
      const response = await get(`/admin/deliveries?cursor=${cursor}`)
      expect(response.status, cursor).toBe(400)
      const error = (await response.json()) as ErrorBody
      expect(error.issues?.[0]?.path).toBe('cursor')
    }
  })

  it('bounds every filter value', async () => {
    for (const field of ['source', 'messageId', 'userId', 'destination', 'reason']) {
      const response = await get(`/admin/deliveries?${field}=${'a'.repeat(3700)}`)
      expect(response.status, field).toBe(400)
      const error = (await response.json()) as ErrorBody
      expect(error.issues?.[0]?.path).toBe(field)
    }
    const stats = await get(`/admin/stats?source=${'a'.repeat(3700)}`)
    expect(stats.status).toBe(400)
    const backwards = await get('/admin/stats?since=2000&until=1000')
    expect(backwards.status).toBe(400)
  })
})
