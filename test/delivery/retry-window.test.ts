import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { retryDelaySeconds } from '../../src/delivery/retry-policy'
import { RETRY_WINDOW_MS } from '../../src/ledger/state'
import { ManualClock } from '../../src/lib/clock'
import { consume, type LedgerRow, readDelivery } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { identifyEvent, messageId } from '../helpers/events'
import { putConfig, replayCaught } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

describe('retry delays', () => {
  it('back off exponentially from the base, capped at 30 minutes', () => {
    const delays = [1, 2, 3, 4, 20].map((attempts) =>
      retryDelaySeconds({ ...env, RETRY_BASE_SECONDS: '10' }, attempts),
    )
    // Jitter keeps each delay within [50 %, 100 %] of 10 s · 2^(attempts − 1).
    expect(delays[0]).toBeGreaterThanOrEqual(5)
    expect(delays[0]).toBeLessThanOrEqual(10)
    expect(delays[3]).toBeGreaterThanOrEqual(40)
    expect(delays[3]).toBeLessThanOrEqual(80)
    expect(delays[4]).toBeLessThanOrEqual(1800)
  })

  it("use the partner's Retry-After when it gives one", () => {
    expect(retryDelaySeconds(env, 1, 120)).toBe(120)
    expect(retryDelaySeconds(env, 9, 0)).toBe(1)
  })
})

function rowOf(id: string): Promise<LedgerRow | undefined> {
  return readDelivery(id)
}

describe('the 4-hour retry window', () => {
  it('keeps retrying inside the window, with the delay on the queue message', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 503 })
    const id = messageId('window')
    const result = await consume({
      source: source.name,
      ingestId: 'ingest-1',
      events: [identifyEvent(id, { email: 'w@example.com' })],
    })

    expect(result.explicitAcks).toEqual([])
    expect(result.retryMessages).toHaveLength(1)
    expect(result.delaySeconds).toBeGreaterThanOrEqual(0)
    expect(result.delaySeconds).toBeLessThanOrEqual(1)
    expect(await rowOf(id)).toMatchObject({
      status: 'retrying',
      attempts: 1,
      last_error: 'http_503',
      partner_status: 503,
    })
  })

  it('fails the pair for good once retrying would pass 4 hours, and dead-letters it', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 503 })
    const id = messageId('window')
    const event = identifyEvent(id, { email: 'w@example.com' })
    const message = { source: source.name, ingestId: 'ingest-2', events: [event] }
    const clock = new ManualClock(Date.now())
    await consume(message, { attempts: 1, clock })
    // The pair has been retrying for just over 4 hours.
    clock.advance(RETRY_WINDOW_MS + 1_000)

    const result = await consume(message, { attempts: 12, clock })
    expect(result.explicitAcks).toHaveLength(1)
    expect(result.retryMessages).toEqual([])
    expect(await rowOf(id)).toMatchObject({
      status: 'failed',
      reason: 'retries_exhausted: http_503',
      attempts: 2,
    })
    // Kept for replay: a replay queues the event again (caught here, not delivered).
    const replay = await replayCaught([{ source: source.name, messageId: id, destination: 'CrowdPower' }])
    expect(replay.answer).toMatchObject({ replayed: 1 })
    expect(replay.queued).toMatchObject({ events: [{ messageId: id }] })
    await tenant.clearFaults()
  })

  it('does not call a partner again before the pair is due', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 500, count: 1 })
    const id = messageId('due')
    const message = {
      source: source.name,
      ingestId: 'ingest-3',
      events: [identifyEvent(id, { email: 'w@example.com' })],
    }
    const clock = new ManualClock(Date.now())
    await consume(message, { attempts: 1, clock })
    const { next_attempt_at: due } = (await rowOf(id)) ?? {}

    // The queue hands the message back early (at the same instant): it waits again, for the rest.
    const early = await consume(message, { attempts: 2, clock })
    expect(early.retryMessages).toHaveLength(1)
    expect(early.delaySeconds).toBe(Math.ceil(((due ?? 0) - clock.now()) / 1000))
    expect(early.delaySeconds).toBeGreaterThanOrEqual(1)
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
  })

  it('closes a retrying pair as dropped when its destination was disabled since', async () => {
    const tenant = new SandboxTenant()
    const crowdPower = sandboxDestinations(tenant).CrowdPower
    const source = await configureSource({ CrowdPower: crowdPower })
    await tenant.fault('crowdpower', { status: 503 })
    const id = messageId('removed')
    const message = {
      source: source.name,
      ingestId: 'ingest-4',
      events: [identifyEvent(id, { email: 'w@example.com' })],
    }
    await consume(message)
    expect((await rowOf(id))?.status).toBe('retrying')

    await putConfig({
      sources: [{ ...source, destinations: { CrowdPower: { ...crowdPower, enabled: false } } }],
    })
    const result = await consume(message, { attempts: 2 })
    expect(result.explicitAcks).toHaveLength(1)
    expect(await rowOf(id)).toMatchObject({
      status: 'dropped',
      reason: 'destination_removed',
      last_error: 'http_503',
    })
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
    await tenant.clearFaults()
  })
})
