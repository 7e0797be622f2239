import type { AlertsConfig } from '../../config/alerts'
import { loadConfig } from '../../config/store'
import type { Bindings } from '../../env'
import { Ledger } from '../../ledger/ledger'
import { ROLLUP_BUCKET_MS } from '../../ledger/schema'
import type { StatsRow } from '../../ledger/types'
import type { Clock } from '../../lib/clock'
import { type DispatchSummary, operationsLog } from '../log'
import { dispatchSettings, ruleEnabled } from './incidents'
import type { IncidentInput, IncidentKind } from './types'

const MINUTE_MS = 60_000
/** Kinds the cron decides; auto_pause is reported by the destination gate. */
const EVALUATED: ReadonlySet<string> = new Set<IncidentKind>(['failure_rate', 'pair_failed', 'capacity'])

/**
 * What one evaluation found: incidents whose condition holds, and keys it could
 * not decide (too few outcomes, a ledger read that failed), which keep their
 * state. Every other unresolved incident of an evaluated kind has ended.
 */
interface Findings {
  holding: IncidentInput[]
  undecided: Set<string>
}

export type EvaluationResult = { evaluated: false } | ({ evaluated: true; open: number } & DispatchSummary)

/**
 * One cron run: reads the ledger's rollups and capacity (aggregates, never
 * rows), opens and resolves incidents, then sends what waits. Never throws for
 * a target; a ledger read that fails leaves the incidents it would decide as
 * they are.
 */
export async function evaluateAlerts(env: Bindings, clock: Clock): Promise<EvaluationResult> {
  const now = clock.now()
  const config = await loadConfig(env)
  const { alerts } = config
  if (!alerts) return { evaluated: false }
  const findings: Findings = { holding: [], undecided: new Set() }
  const ledger = new Ledger(env)
  await Promise.all([
    ...config.sources.map((source) => evaluateSource(ledger, alerts, source.name, now, findings)),
    evaluateCapacity(ledger, alerts, findings),
  ])
  const log = operationsLog(env)
  const holding = new Set(findings.holding.map((input) => input.key))
  const ended = (await log.unresolvedIncidentKeys()).filter(
    (key) => EVALUATED.has(kindOf(key)) && !holding.has(key) && !isUndecided(findings, key),
  )
  const settings = dispatchSettings(alerts)
  await log.applyFindings(now, findings.holding, ended, settings.quietMs)
  const summary = await log.dispatch(now, settings)
  return { evaluated: true, open: holding.size, ...summary }
}

/** `undecided` holds keys, and `<kind>:<source>:*` for a window that could not be read. */
function isUndecided(findings: Findings, key: string): boolean {
  for (const entry of findings.undecided)
    if (entry === key || (entry.endsWith('*') && key.startsWith(entry.slice(0, -1)))) return true
  return false
}

function kindOf(key: string): string {
  return key.split(':', 1)[0] ?? ''
}

/** Outcomes per destination in one window of one source. */
interface Tally {
  delivered: number
  failed: number
  retrying: number
  failedReasons: Map<string, number>
}

function tally(rows: readonly StatsRow[]): Map<string, Tally> {
  const byDestination = new Map<string, Tally>()
  for (const row of rows) {
    let entry = byDestination.get(row.destination)
    if (!entry) {
      entry = { delivered: 0, failed: 0, retrying: 0, failedReasons: new Map() }
      byDestination.set(row.destination, entry)
    }
    if (row.status === 'delivered') entry.delivered += row.count
    if (row.status === 'retrying') entry.retrying += row.count
    if (row.status === 'failed') {
      entry.failed += row.count
      const reason = row.reason ?? 'unknown'
      entry.failedReasons.set(reason, (entry.failedReasons.get(reason) ?? 0) + row.count)
    }
  }
  return byDestination
}

async function evaluateSource(
  ledger: Ledger,
  alerts: AlertsConfig,
  source: string,
  now: number,
  findings: Findings,
): Promise<void> {
  const { failureRate, pairFailed } = alerts.rules
  // One ledger read per distinct window (usually one for both rules).
  const windows = new Map<number, Promise<Map<string, Tally>>>()
  const read = (minutes: number) => {
    let pending = windows.get(minutes)
    if (!pending) {
      // The ledger counts whole 5-minute buckets from the first that starts after `since`:
      // one bucket earlier makes the window at least `minutes` long (at most 5 more).
      const since = now - minutes * MINUTE_MS - ROLLUP_BUCKET_MS
      pending = ledger.stats({ since, until: now, source }).then(tally)
      windows.set(minutes, pending)
    }
    return pending
  }
  await Promise.all([
    failureRate.enabled &&
      decide(source, 'failure_rate', findings, read(failureRate.windowMinutes), (destination, counts) => {
        // Dropped pairs are the rules' decisions, not the partner's health: left out.
        const total = counts.delivered + counts.failed + counts.retrying
        const failing = counts.failed + counts.retrying
        const rate = total === 0 ? 0 : failing / total
        if (rate <= failureRate.threshold) return 'ended'
        // Too few outcomes to call it: an open incident stays open, none opens.
        if (total < failureRate.minAttempts) return 'undecided'
        return {
          title: `${destination} (source ${source}): ${percent(rate)} of deliveries failing`,
          detail:
            `${failing} of ${total} outcomes in the last ${failureRate.windowMinutes} min failed or are retrying ` +
            `(threshold ${percent(failureRate.threshold)}, at least ${failureRate.minAttempts} outcomes)`,
        }
      }),
    pairFailed.enabled &&
      decide(source, 'pair_failed', findings, read(pairFailed.windowMinutes), (destination, counts) => {
        if (counts.failed === 0) return 'ended'
        const reasons = [...counts.failedReasons].map(([reason, count]) => `${reason} ×${count}`).join(', ')
        return {
          title: `${destination} (source ${source}): deliveries failed for good`,
          detail: `${counts.failed} ended failed in the last ${pairFailed.windowMinutes} min (${reasons}); replay them from the dashboard`,
        }
      }),
  ])
}

type Verdict = 'ended' | 'undecided' | { title: string; detail: string }

/** Applies `judge` to each destination of one window; a window that cannot be read leaves every incident of its kind as it is. */
async function decide(
  source: string,
  kind: IncidentKind,
  findings: Findings,
  window: Promise<Map<string, Tally>>,
  judge: (destination: string, counts: Tally) => Verdict,
): Promise<void> {
  const prefix = `${kind}:${source}:`
  let tallies: Map<string, Tally>
  try {
    tallies = await window
  } catch {
    findings.undecided.add(`${prefix}*`)
    return
  }
  for (const [destination, counts] of tallies) {
    const key = `${prefix}${destination}`
    const verdict = judge(destination, counts)
    if (verdict === 'undecided') findings.undecided.add(key)
    else if (verdict !== 'ended')
      findings.holding.push({ key, kind, target: `${source}:${destination}`, ...verdict })
  }
}

async function evaluateCapacity(ledger: Ledger, alerts: AlertsConfig, findings: Findings): Promise<void> {
  if (!ruleEnabled(alerts, 'capacity')) return
  try {
    const capacity = await ledger.capacity()
    if (capacity.warning === null) return
    findings.holding.push({
      key: 'capacity',
      kind: 'capacity',
      target: 'ledger',
      title: 'Ledger storage nearing its limit',
      detail: capacity.warning,
    })
  } catch {
    findings.undecided.add('capacity')
  }
}

function percent(share: number): string {
  return `${Math.round(share * 100)} %`
}
