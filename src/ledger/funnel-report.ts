/**
 * The delivery funnel as `GET /admin/funnel` and the dashboard's funnel page
 * answer it: their one query schema (they may not import each other, so it
 * lives here), the window it names, and the report read from the ledger:
 * counts from rollups only, then a few samples per failure reason.
 */
import * as v from 'valibot'
import { type InputIssue, toInputIssues } from '../lib/errors'
import { BoundedText, Millis } from '../lib/query-values'
import { buildFunnels, type DestinationFunnel, SAMPLES_PER_REASON, sampleTargets, toSample } from './funnel'
import type { Ledger } from './ledger'
import { ROLLUP_BUCKET_MS } from './schema'

const HOUR_MS = 60 * 60 * 1000
const DAY_MS = 24 * HOUR_MS

/** Ranges by name, ending now (or at `until`): what the dashboard's picker offers. */
export const FUNNEL_RANGES = {
  '1h': { label: 'Last hour', ms: HOUR_MS },
  '6h': { label: 'Last 6 hours', ms: 6 * HOUR_MS },
  '24h': { label: 'Last 24 hours', ms: DAY_MS },
  '7d': { label: 'Last 7 days', ms: 7 * DAY_MS },
} as const
export type FunnelRangeName = keyof typeof FUNNEL_RANGES
export const DEFAULT_FUNNEL_RANGE: FunnelRangeName = '24h'

/** Longest window: a little past the ledger's default 30-day retention, so a month fits. */
export const MAX_FUNNEL_WINDOW_MS = 31 * DAY_MS

/** The query's parameters, minus the checks that need the time (`funnelWindow`). */
export function funnelQuerySchema(destinations: readonly string[]) {
  return v.pipe(
    v.object({
      destination: v.optional(v.picklist(destinations, 'unknown destination')),
      source: v.optional(BoundedText),
      since: v.optional(Millis),
      until: v.optional(Millis),
      range: v.optional(
        v.picklist(Object.keys(FUNNEL_RANGES) as FunnelRangeName[], 'range must be 1h, 6h, 24h or 7d'),
      ),
    }),
    v.forward(
      v.partialCheck(
        [['since'], ['range']],
        (query) => query.since === undefined || query.range === undefined,
        'give since or range, not both',
      ),
      ['range'],
    ),
  )
}
export type FunnelQuery = v.InferOutput<ReturnType<typeof funnelQuerySchema>>

export interface FunnelWindow {
  since: number
  until: number
}

/**
 * The window a query names: `until` (default now) back to `since` (default the
 * range, default 24 hours); refused, with where, unless since < until and the
 * window spans at most MAX_FUNNEL_WINDOW_MS.
 */
export function funnelWindow(query: FunnelQuery, now: number): FunnelWindow | InputIssue[] {
  const until = query.until ?? now
  const since = query.since ?? until - FUNNEL_RANGES[query.range ?? DEFAULT_FUNNEL_RANGE].ms
  if (since >= until)
    return [{ path: query.until === undefined ? 'since' : 'until', message: 'since must be before until' }]
  if (until - since > MAX_FUNNEL_WINDOW_MS)
    return [{ path: 'since', message: 'the window may span at most 31 days' }]
  return { since, until }
}

/** A query string read: the query and its window, or what is wrong with it and where. */
export function readFunnelQuery(
  schema: ReturnType<typeof funnelQuerySchema>,
  raw: Record<string, string>,
  now: number,
): { ok: true; query: FunnelQuery; window: FunnelWindow } | { ok: false; issues: InputIssue[] } {
  // An empty parameter is no parameter: a form's "All" option sends one.
  const given = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== ''))
  const parsed = v.safeParse(schema, given)
  if (!parsed.success) return { ok: false, issues: toInputIssues(parsed.issues) }
  const window = funnelWindow(parsed.output, now)
  return Array.isArray(window) ? { ok: false, issues: window } : { ok: true, query: parsed.output, window }
}

/**
 * The window the rollups count: whole 5-minute buckets, those starting in
 * [since, until) (the shard's `bucketRange`). Samples use the same window, so
 * they come from the pairs counted.
 */
export function countedWindow(window: FunnelWindow): FunnelWindow {
  return {
    since: Math.ceil(window.since / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS,
    until: Math.ceil(window.until / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS,
  }
}

export interface FunnelReport extends FunnelWindow {
  source: string | null
  destination: string | null
  bucketMs: number
  destinations: DestinationFunnel[]
}

/** Destinations of the config (of one source, if named): shown even when nothing reached them. */
export function configuredDestinations(
  config: { sources: readonly { name: string; destinations: Record<string, unknown> }[] },
  source?: string,
): string[] {
  const names = config.sources
    .filter((item) => source === undefined || item.name === source)
    .flatMap((item) => Object.keys(item.destinations))
  return [...new Set(names)]
}

/**
 * The funnel of every destination (or the one asked for) over `window`: counts
 * from the rollups, then up to SAMPLES_PER_REASON events for each of the top
 * failure and drop reasons (bounded, all in parallel).
 */
export async function loadFunnelReport(
  ledger: Ledger,
  query: Pick<FunnelQuery, 'destination' | 'source'>,
  window: FunnelWindow,
  listed: readonly string[],
): Promise<FunnelReport> {
  const counted = countedWindow(window)
  const source = query.source
  const stats = await ledger.stats({ ...counted, ...(source !== undefined && { source }) })
  const wanted = query.destination
  const destinations = buildFunnels(
    wanted === undefined ? stats : stats.filter((row) => row.destination === wanted),
    wanted === undefined ? listed : [wanted],
  )
  await Promise.all(
    sampleTargets(destinations).map(async ({ destination, entry }) => {
      const { deliveries } = await ledger.list(
        {
          ...counted,
          destination,
          status: entry.status,
          ...(source !== undefined && { source }),
          ...(entry.reason !== null && { reason: entry.reason }),
        },
        SAMPLES_PER_REASON,
      )
      // The list cannot ask for "no reason": rows of the same status with one are not this entry's.
      entry.samples = deliveries.filter((row) => row.reason === entry.reason).map(toSample)
    }),
  )
  return {
    ...counted,
    source: source ?? null,
    destination: wanted ?? null,
    bucketMs: ROLLUP_BUCKET_MS,
    destinations,
  }
}
