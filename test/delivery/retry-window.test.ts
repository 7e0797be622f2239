import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { RETRY_WINDOW_MS, retryDelaySeconds } from '../../src/delivery/retry-policy'
import type { SegmentEvent } from '../../src/segment/schema'
import { consume, type LedgerRow } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { putConfig } from '../helpers/router'
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

function identify(id: string): SegmentEvent {
  const now = new Date().toISOString()
  return {
    type: 'identify',
    messageId: id,
    userId: `u-${id}`,
    traits: { email: 'w@example.com' },
    receivedAt: now,
    timestamp: now,
  }
}

async function rowOf(id: string): Promise<LedgerRow | null> {
  return env.LEDGER.prepare('SELECT * FROM deliveries WHERE message_id = ?').bind(id).first<LedgerRow>()
}

describe('the 4-hour retry window', () => {
  it('keeps retrying inside the window, with the delay on the queue message', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 503 })
    const id = messageId('window')
    const result = await consume({ source: source.name, ingestId: 'ingest-1', events: [identify(id)] })

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
    const event = identify(id)
    const message = { source: source.name, ingestId: 'ingest-2', events: [event] }
    await consume(message)
    // The pair has been retrying since just over 4 hours ago.
    const started = Date.now() - RETRY_WINDOW_MS - 1_000
    await env.LEDGER.prepare(
      `UPDATE events SET destinations = json_set(destinations, '$.CrowdPower.windowStartedAt', ?,
         '$.CrowdPower.nextAttemptAt', 0) WHERE message_id = ?`,
    )
      .bind(started, id)
      .run()

    const deadLetters = vi.spyOn(env.DEAD_LETTER_QUEUE, 'sendBatch')
    const result = await consume(message, 12)
    expect(deadLetters).toHaveBeenCalledTimes(1)
    expect(Array.from(deadLetters.mock.calls[0]?.[0] ?? [])).toEqual([
      {
        body: expect.objectContaining({
          destination: 'CrowdPower',
          messageId: id,
          reason: 'retries_exhausted: http_503',
          partnerStatus: 503,
        }),
      },
    ])
    expect(result.explicitAcks).toHaveLength(1)
    expect(result.retryMessages).toEqual([])
    expect(await rowOf(id)).toMatchObject({
      status: 'failed',
      reason: 'retries_exhausted: http_503',
      attempts: 2,
    })
    // Kept for replay.
    const stored = await env.LEDGER.prepare('SELECT body FROM events WHERE message_id = ?')
      .bind(id)
      .first<{ body: string }>()
    expect(JSON.parse(stored?.body ?? 'null')).toMatchObject({ messageId: id })
    await tenant.clearFaults()
  })

  it('does not call a partner again before the pair is due', async () => {
    const tenant = new SandboxTenant()
    const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
    await tenant.fault('crowdpower', { status: 500, count: 1 })
    const id = messageId('due')
    const message = { source: source.name, ingestId: 'ingest-3', events: [identify(id)] }
    await consume(message)
    await env.LEDGER.prepare(
      `UPDATE events SET destinations = json_set(destinations, '$.CrowdPower.nextAttemptAt', ?) WHERE message_id = ?`,
    )
      .bind(Date.now() + 60_000, id)
      .run()

    const early = await consume(message, 2)
    expect(early.retryMessages).toHaveLength(1)
    expect(early.delaySeconds).toBeGreaterThanOrEqual(55)
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
  })

  it('closes a retrying pair as dropped when its destination was disabled since', async () => {
    const tenant = new SandboxTenant()
    const crowdPower = sandboxDestinations(tenant).CrowdPower
    const source = await configureSource({ CrowdPower: crowdPower })
    await tenant.fault('crowdpower', { status: 503 })
    const id = messageId('removed')
    const message = { source: source.name, ingestId: 'ingest-4', events: [identify(id)] }
    await consume(message)
    expect((await rowOf(id))?.status).toBe('retrying')

    await putConfig({
      sources: [{ ...source, destinations: { CrowdPower: { ...crowdPower, enabled: false } } }],
    })
    const result = await consume(message, 2)
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
