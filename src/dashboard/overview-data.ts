import { loadConfig } from '../config/store'
import type { Bindings } from '../env'
import { type Capacity, Ledger } from '../ledger/ledger'
import { LEDGER_STATUSES } from '../ledger/state'

/** The outcomes the dashboard counts, in the order it shows them. */
export const OUTCOMES = LEDGER_STATUSES
export type Outcome = (typeof OUTCOMES)[number]
export type OutcomeCounts = Record<Outcome, number>

/** The windows the overview offers, each with the width of one chart bar. */
export const WINDOWS = {
  '1h': { label: 'Last hour', ms: 60 * 60 * 1000, bucketMs: 5 * 60 * 1000 },
  '24h': { label: 'Last 24 hours', ms: 24 * 60 * 60 * 1000, bucketMs: 60 * 60 * 1000 },
} as const
export type WindowName = keyof typeof WINDOWS

export interface ReasonCount {
  reason: string
  count: number
}

export interface DestinationSummary {
  name: string
  /** From the config: enabled in some source, configured but disabled everywhere, or only in the ledger. */
  state: 'enabled' | 'disabled' | 'unconfigured'
  counts: OutcomeCounts
  dropReasons: ReasonCount[]
  failReasons: ReasonCount[]
  /** One entry per chart bar, oldest first. */
  buckets: OutcomeCounts[]
}

export interface Overview {
  window: WindowName
  /** The chart's span: bars are aligned to whole buckets so they do not shift between refreshes. */
  chartSince: number
  bucketMs: number
  totals: OutcomeCounts
  destinations: DestinationSummary[]
  /** Ledger storage; `warning` is shown on the dashboard when a shard nears its limit. */
  capacity: Capacity
}

export function emptyCounts(): OutcomeCounts {
  return { delivered: 0, dropped: 0, retrying: 0, failed: 0, paused: 0 }
}

function isOutcome(status: string): status is Outcome {
  return (OUTCOMES as readonly string[]).includes(status)
}

function configuredDestinations(sources: { destinations: Record<string, { enabled: boolean }> }[]) {
  const states = new Map<string, DestinationSummary['state']>()
  for (const source of sources) {
    for (const [name, destination] of Object.entries(source.destinations)) {
      if (destination.enabled) states.set(name, 'enabled')
      else if (!states.has(name)) states.set(name, 'disabled')
    }
  }
  return states
}

function addReason(list: ReasonCount[], reason: string | null, count: number): void {
  const label = reason ?? 'unknown'
  const existing = list.find((item) => item.reason === label)
  if (existing) existing.count += count
  else list.push({ reason: label, count })
}

/**
 * Everything the overview shows, in two ledger queries: counts per destination ×
 * outcome × reason for the window, and the same per time bucket for the charts.
 * Destinations come from the config, plus any the ledger still has rows for.
 */
export async function loadOverview(env: Bindings, window: WindowName, now: number): Promise<Overview> {
  const { ms, bucketMs } = WINDOWS[window]
  const chartUntil = Math.ceil((now + 1) / bucketMs) * bucketMs
  const chartSince = chartUntil - ms
  const bucketCount = ms / bucketMs
  const ledger = new Ledger(env)
  const [config, stats, timeline, capacity] = await Promise.all([
    loadConfig(env),
    ledger.stats({ since: now - ms, until: now + 1 }),
    ledger.timeline({ since: chartSince, until: chartUntil, bucketMs }),
    ledger.capacity(),
  ])

  const states = configuredDestinations(config.sources)
  const summaries = new Map<string, DestinationSummary>()
  const summaryOf = (name: string): DestinationSummary => {
    let summary = summaries.get(name)
    if (!summary) {
      summary = {
        name,
        state: states.get(name) ?? 'unconfigured',
        counts: emptyCounts(),
        dropReasons: [],
        failReasons: [],
        buckets: Array.from({ length: bucketCount }, emptyCounts),
      }
      summaries.set(name, summary)
    }
    return summary
  }
  for (const name of states.keys()) summaryOf(name)

  const totals = emptyCounts()
  for (const row of stats) {
    if (!isOutcome(row.status)) continue
    const summary = summaryOf(row.destination)
    summary.counts[row.status] += row.count
    totals[row.status] += row.count
    if (row.status === 'dropped') addReason(summary.dropReasons, row.reason, row.count)
    if (row.status === 'failed') addReason(summary.failReasons, row.reason, row.count)
  }
  for (const row of timeline) {
    const bucket = summaryOf(row.destination).buckets[row.bucket]
    if (bucket && isOutcome(row.status)) bucket[row.status] += row.count
  }
  for (const summary of summaries.values()) {
    summary.dropReasons.sort((a, b) => b.count - a.count)
    summary.failReasons.sort((a, b) => b.count - a.count)
  }

  const destinations = [...summaries.values()].sort((a, b) => a.name.localeCompare(b.name))
  return { window, chartSince, bucketMs, totals, destinations, capacity }
}
