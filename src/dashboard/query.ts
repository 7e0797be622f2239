import * as v from 'valibot'
import { OUTCOMES, WINDOWS, type WindowName } from './overview-data'

const DEFAULT_WINDOW: WindowName = '24h'

/** An optional text parameter: trimmed, empty = absent, anything malformed = absent (a page never 400s). */
function optionalText(maxLength: number) {
  return v.fallback(
    v.optional(
      v.pipe(
        v.string(),
        v.trim(),
        v.maxLength(maxLength),
        v.transform((text) => (text === '' ? undefined : text)),
      ),
    ),
    undefined,
  )
}

/** The overview's URL parameters. */
const DashboardQuerySchema = v.object({
  window: v.fallback(
    v.optional(v.picklist(Object.keys(WINDOWS) as WindowName[]), DEFAULT_WINDOW),
    DEFAULT_WINDOW,
  ),
  /** A messageId or userId. */
  q: optionalText(200),
  status: v.fallback(v.optional(v.picklist(OUTCOMES)), undefined),
  destination: optionalText(100),
  cursor: optionalText(1000),
  /** What the last replay button did (set by the redirect after it). */
  replay: optionalText(100),
})

export type DashboardQuery = v.InferOutput<typeof DashboardQuerySchema>

/** Parameters in a fixed order, so the same view always has the same URL. */
const PARAM_ORDER = Object.keys(DashboardQuerySchema.entries) as (keyof DashboardQuery)[]

export function parseDashboardQuery(query: Record<string, string>): DashboardQuery {
  return v.parse(DashboardQuerySchema, query)
}

/**
 * The overview URL for `query` with `changes` applied. A page cursor and a
 * replay notice belong to one view only, so they are kept only when `changes` sets them.
 */
export function dashboardHref(query: DashboardQuery, changes: Partial<DashboardQuery> = {}): string {
  const next: Partial<DashboardQuery> = { ...query, cursor: undefined, replay: undefined, ...changes }
  const params = new URLSearchParams()
  for (const key of PARAM_ORDER) {
    const value = next[key]
    if (value === undefined || (key === 'window' && value === DEFAULT_WINDOW)) continue
    params.set(key, value)
  }
  const search = params.toString()
  return search ? `/admin?${search}` : '/admin'
}
