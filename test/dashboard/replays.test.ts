import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { listAudit } from '../../src/operations/log'
import { getReplayJob } from '../../src/queue/replay'
import { readDelivery, waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { ORIGIN, routerFetch, spyOnQueue } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'
import { attributesOf, textOf } from './html'
import { loginCookie } from './session'

afterEach(() => {
  vi.restoreAllMocks()
})

/** A page as a browser asks for it (navigation sends `Accept: text/html`). */
async function page(path: string, cookie: string): Promise<string> {
  const response = await routerFetch(path, { headers: { Cookie: cookie, Accept: 'text/html' } })
  expect(response.status, path).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/html/)
  return response.text()
}

function submit(path: string, cookie: string, fields: Record<string, string>): Promise<Response> {
  return routerFetch(path, {
    method: 'POST',
    headers: { Cookie: cookie, Origin: ORIGIN },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  })
}

async function failedDelivery() {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  await tenant.fault('crowdpower', { status: 400 })
  const id = messageId('dash-replay')
  await sendBatch(source.writeKey, [{ type: 'identify', messageId: id, userId: `u-${id}` }])
  await waitForLedger([id], { rows: 1 })
  return { source, id }
}

describe('replay from the dashboard', () => {
  it("a row's Replay shows the plan first and changes nothing until confirmed", async () => {
    const { source, id } = await failedDelivery()
    const cookie = await loginCookie()
    const queue = spyOnQueue()
    const pair = { source: source.name, messageId: id, destination: 'CrowdPower' }
    const plan = await page(`/admin/replays/plan?${new URLSearchParams(pair)}`, cookie)
    expect(await textOf(plan, 'tr[data-destination="CrowdPower"] [data-count="replayable"]')).toBe('1')
    expect(await attributesOf(plan, 'form.replay-confirm', 'action')).toEqual(['/admin/deliveries/replay'])
    expect(queue.requests()).toEqual([])
    expect((await readDelivery(id))?.status).toBe('failed')
  })

  it('starts a paced job for the filtered table, lists it with its progress, and cancels it', async () => {
    const { id } = await failedDelivery()
    const cookie = await loginCookie()
    const plan = await page('/admin/replays/plan?status=failed&destination=CrowdPower', cookie)
    expect(await attributesOf(plan, 'form.replay-confirm', 'action')).toEqual(['/admin/replays/start'])

    // Catches the job's sends, so it stays running long enough to be cancelled here.
    const queue = spyOnQueue()
    queue.send.mockImplementation(async () => ({}) as QueueSendResponse)
    const started = await submit('/admin/replays/start', cookie, {
      status: 'failed',
      destination: 'CrowdPower',
      q: `u-${id}`,
      rate: '5',
    })
    expect(started.status).toBe(303)
    const location = started.headers.get('location') ?? ''
    const jobId = new URL(location, ORIGIN).searchParams.get('started') ?? ''
    expect(await getReplayJob(env, jobId)).toMatchObject({
      actor: 'dashboard',
      rate: 5,
      statuses: ['failed'],
      filter: { destination: 'CrowdPower', search: `u-${id}` },
      planned: [{ destination: 'CrowdPower', replayable: 1, notKept: 0 }],
    })
    const list = await page(location, cookie)
    expect(await attributesOf(list, 'tr[data-replay-id]', 'data-replay-id')).toContain(jobId)
    expect(await textOf(list, `tr[data-replay-id="${jobId}"] [data-count="planned"]`)).toBe('1')

    const cancelled = await submit('/admin/replays/cancel', cookie, { id: jobId })
    expect(cancelled.status).toBe(303)
    const job = await getReplayJob(env, jobId)
    // The job may have queued its one pair before the cancel; either way it takes nothing more.
    expect(job?.state === 'cancelled' || job?.state === 'done').toBe(true)
    if (job?.state === 'cancelled') {
      expect(job.cancelledBy).toBe('dashboard')
      const audit = await listAudit(env, 10, jobId)
      expect(audit.map((entry) => [entry.action, entry.actor])).toEqual([
        ['replay.cancelled', 'dashboard'],
        ['replay.started', 'dashboard'],
      ])
    }
    // The JSON list answers anyone who does not ask for a page.
    const json = await routerFetch('/admin/replays', { headers: { Cookie: cookie } })
    expect(json.headers.get('content-type')).toMatch(/^application\/json/)
  })
})
