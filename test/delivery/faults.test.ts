import { describe, expect, it } from 'vitest'
import { waitForLedger } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId, sendBatch } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

/** One CrowdPower destination on a fresh tenant: its identify is exactly one POST /customers. */
async function crowdPowerOnly() {
  const tenant = new SandboxTenant()
  const source = await configureSource({ CrowdPower: sandboxDestinations(tenant).CrowdPower })
  return { tenant, source }
}

function identify(id: string) {
  return {
    type: 'identify',
    messageId: id,
    userId: `user-${id}`,
    traits: { email: 'jo@example.com', name: 'Jo' },
  }
}

describe('delivery under partner faults', () => {
  it('retries 500s, then delivers exactly once', async () => {
    const { tenant, source } = await crowdPowerOnly()
    await tenant.fault('crowdpower', { status: 500, count: 2 })
    const id = messageId()
    await sendBatch(source.writeKey, [identify(id)])

    const [row] = await waitForLedger([id], { rows: 1, timeoutMs: 20_000 })
    expect(row).toMatchObject({ status: 'delivered', attempts: 3 })
    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => request.status)).toEqual([500, 500, 200])
    expect(requests.filter((request) => request.status === 200)).toHaveLength(1)
  })

  it('waits for Retry-After on a 429, then delivers', async () => {
    const { tenant, source } = await crowdPowerOnly()
    await tenant.fault('crowdpower', { status: 429, retryAfter: '2', count: 1 })
    const id = messageId()
    await sendBatch(source.writeKey, [identify(id)])

    const [retrying] = await waitForLedger([id], { rows: 1, alsoSettled: ['retrying'] })
    expect(retrying).toMatchObject({ status: 'retrying', partner_status: 429 })
    const [row] = await waitForLedger([id], { rows: 1, timeoutMs: 20_000 })
    expect(row?.status).toBe('delivered')
    const [limited, accepted] = await tenant.requests('crowdpower')
    expect(limited?.status).toBe(429)
    expect(accepted?.status).toBe(200)
    // Honoured the partner's 2 s, not the 1 s test backoff.
    expect((accepted?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1_900)
  })

  it('times out a hanging partner and retries', async () => {
    const { tenant, source } = await crowdPowerOnly()
    await tenant.fault('crowdpower', { mode: 'hang', count: 1 })
    const id = messageId()
    await sendBatch(source.writeKey, [identify(id)])

    const [row] = await waitForLedger([id], { rows: 1, timeoutMs: 20_000 })
    expect(row).toMatchObject({ status: 'delivered', attempts: 2 })
    const requests = await tenant.requests('crowdpower')
    expect(requests.map((request) => request.status)).toEqual([0, 200])
  })

  it('fails a permanent 400 without retrying, keeping the partner reason', async () => {
    const { tenant, source } = await crowdPowerOnly()
    await tenant.fault('crowdpower', {
      status: 400,
      body: { success: false, code: 400, message: 'user_id is invalid' },
      count: 1,
    })
    const id = messageId()
    await sendBatch(source.writeKey, [identify(id)])

    const [row] = await waitForLedger([id], { rows: 1 })
    expect(row).toMatchObject({ status: 'failed', attempts: 1, partner_status: 400 })
    expect(row?.response_summary).toContain('user_id is invalid')
    // Give a wrongly scheduled retry time to happen, then check there was none.
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    expect(await tenant.requests('crowdpower')).toHaveLength(1)
  })
})
