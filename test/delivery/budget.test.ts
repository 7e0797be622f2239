import { expect, it } from 'vitest'
import { consume, readDeliveries } from '../helpers/delivery'
import { configureSource, sandboxDestinations } from '../helpers/destinations'
import { messageId } from '../helpers/events'
import { SandboxTenant } from '../helpers/sandbox'

it('spends at most SUBREQUEST_BUDGET partner calls per invocation and retries the rest later', async () => {
  const tenant = new SandboxTenant()
  const source = await configureSource({ Calixa: sandboxDestinations(tenant).Calixa })
  const ids = Array.from({ length: 5 }, () => messageId('budget'))
  const now = new Date().toISOString()
  const message = {
    source: source.name,
    ingestId: crypto.randomUUID(),
    events: ids.map((id) => ({
      type: 'identify' as const,
      messageId: id,
      userId: `u-${id}`,
      receivedAt: now,
      timestamp: now,
    })),
  }

  // Calixa sends one request per event: a budget of 3 lets 3 through in this invocation.
  const first = await consume(message, { attempts: 1, vars: { SUBREQUEST_BUDGET: '3' } })
  expect(first.retryMessages).toHaveLength(1)
  expect(first.delaySeconds).toBeGreaterThanOrEqual(0)
  expect(await tenant.requests('calixa')).toHaveLength(3)
  const afterFirst = await readDeliveries(ids)
  expect(afterFirst.filter((row) => row.status === 'delivered')).toHaveLength(3)
  const waiting = afterFirst.filter((row) => row.status === 'retrying')
  expect(waiting).toHaveLength(2)
  // Like a timeout or an open circuit: no partner answer (status 0), the summary says why.
  for (const row of waiting) {
    expect(row.partner_status).toBeNull()
    expect(row.response_summary).toContain('subrequest budget of this invocation spent')
  }

  // Not a partner failure: the circuit stays closed, and the next invocation delivers the rest.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const second = await consume(message, { attempts: 2, vars: { SUBREQUEST_BUDGET: '3' } })
  expect(second.explicitAcks).toHaveLength(1)
  expect((await readDeliveries(ids)).map((row) => row.status)).toEqual(Array(5).fill('delivered'))
  expect(await tenant.requests('calixa')).toHaveLength(5)
})
