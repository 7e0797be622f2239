import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/lib/clock'
import { consume } from '../helpers/delivery'
import { sandboxDestinations } from '../helpers/destinations'
import { identifyEvent, messageId } from '../helpers/events'
import { putConfig } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'
import { adminAlerts, alertsFor, announcements, cronRun } from './alert-helpers'

/**
 * The cron's rules against real deliveries: the sandbox's CrowdPower fails
 * them (400, failed for good), the ledger counts them, each cron run reads the
 * counts and capacity. Time moves with a ManualClock, for deliveries and cron alike.
 */

const MINUTE = 60_000

/** Delivers `count` identify events of `source` to CrowdPower at the clock's time. */
async function deliver(source: string, count: number, clock: ManualClock): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const id = messageId('alert-eval')
    await consume(
      { source, ingestId: `ingest-${id}`, events: [identifyEvent(id, { email: `${index}@example.com` })] },
      { clock },
    )
  }
}

async function cronRuns(clock: ManualClock, runs: number, vars = {}): Promise<void> {
  for (let run = 0; run < runs; run += 1) {
    await cronRun(clock, vars)
    clock.advance(MINUTE)
  }
}

describe('the alert cron', () => {
  it('failure rate and failed pairs: one alert per incident and one recovery, over many runs', async () => {
    const tenant = new SandboxTenant()
    const source = `rate-${crypto.randomUUID().slice(0, 8)}`
    await putConfig({
      sources: [
        {
          name: source,
          writeKey: `wk_${source}`,
          destinations: { CrowdPower: sandboxDestinations(tenant).CrowdPower },
        },
      ],
      alerts: alertsFor(tenant, {
        quietMinutes: 3,
        rules: {
          failureRate: { threshold: 0.5, windowMinutes: 5, minAttempts: 3 },
          pairFailed: { windowMinutes: 5 },
        },
      }),
    })
    const failureRate = `failure_rate:${source}:CrowdPower`
    const pairFailed = `pair_failed:${source}:CrowdPower`
    const clock = new ManualClock(Date.now())
    await tenant.fault('crowdpower', { status: 400, body: { success: false, code: 400 } })

    // One failure: a failed pair, but too few outcomes to call a rate (one failure is not 100 %).
    await deliver(source, 1, clock)
    await cronRuns(clock, 2)
    expect(await announcements(tenant)).toEqual([`alert.opened ${pairFailed}`])

    // Three outcomes, all failed: the rate is over the threshold.
    await deliver(source, 2, clock)
    await cronRuns(clock, 4)
    expect(await announcements(tenant)).toEqual([`alert.opened ${pairFailed}`, `alert.opened ${failureRate}`])
    const open = await adminAlerts()
    expect(open.incidents.map((incident) => incident.key).sort()).toEqual([failureRate, pairFailed])
    expect(open.incidents.find((incident) => incident.key === failureRate)?.detail).toContain(
      '3 of 3 outcomes',
    )

    // The partner recovers; once the failures are out of the window, deliveries succeed.
    await tenant.clearFaults()
    clock.advance(10 * MINUTE)
    await deliver(source, 3, clock)
    // Clear, but for less than the quiet period: nothing yet.
    await cronRuns(clock, 3)
    expect(await announcements(tenant)).toHaveLength(2)
    await cronRuns(clock, 4)
    expect((await announcements(tenant)).sort()).toEqual(
      [
        `alert.opened ${failureRate}`,
        `alert.opened ${pairFailed}`,
        `alert.resolved ${failureRate}`,
        `alert.resolved ${pairFailed}`,
      ].sort(),
    )
    expect(await tenant.receivedAlerts('/slack')).toHaveLength(4)
    expect((await adminAlerts()).incidents).toEqual([])
  })

  it('ledger capacity: one alert while the largest shard is past the warning share, one recovery', async () => {
    const tenant = new SandboxTenant()
    await putConfig({ sources: [], alerts: alertsFor(tenant, { quietMinutes: 2 }) })
    const clock = new ManualClock(Date.now() + 7 * 24 * 60 * MINUTE)
    // Any shard with tables in it holds more than this share of 10 GB.
    const nearlyFull = { LEDGER_WARNING_SHARE: '0.000000000001' }
    await cronRuns(clock, 4, nearlyFull)
    expect(await announcements(tenant)).toEqual(['alert.opened capacity'])
    const [opened] = await tenant.receivedAlerts('/ops')
    expect(JSON.parse(opened?.text ?? '{}').detail).toContain('raise LEDGER_SHARDS')

    await cronRuns(clock, 5)
    expect(await announcements(tenant)).toEqual(['alert.opened capacity', 'alert.resolved capacity'])
  })

  it('reads nothing and raises nothing without an alerts object', async () => {
    const tenant = new SandboxTenant()
    await putConfig({ sources: [] })
    const clock = new ManualClock(Date.now() + 14 * 24 * 60 * MINUTE)
    await cronRuns(clock, 2, { LEDGER_WARNING_SHARE: '0.000000000001' })
    expect((await adminAlerts()).incidents.map((incident) => incident.key)).not.toContain('capacity')
    expect(await tenant.receivedAlerts()).toEqual([])
  })
})
