import {
  type DestinationFunnel,
  FUNNEL_STAGES,
  type FunnelReason,
  type FunnelSample,
  type FunnelStage,
} from '../ledger/funnel'
import {
  DEFAULT_FUNNEL_RANGE,
  FUNNEL_RANGES,
  type FunnelQuery,
  type FunnelRangeName,
  type FunnelReport,
} from '../ledger/funnel-report'
import type { InputIssue } from '../lib/errors'
import { formatCount, formatTimestamp, shortenId } from './format'
import { Picker } from './picker'
import { dashboardHref } from './query'

/** The page's own path (the JSON answer is GET /admin/funnel). */
export const FUNNEL_PAGE = '/admin/delivery-funnel'

/** Parameters in a fixed order, so the same view always has the same URL. */
const PARAM_ORDER = [
  'destination',
  'source',
  'range',
  'since',
  'until',
] as const satisfies readonly (keyof FunnelQuery)[]

/** The funnel page's URL for `query` with `changes` applied. */
export function funnelHref(query: FunnelQuery, changes: Partial<FunnelQuery> = {}): string {
  const next: Partial<FunnelQuery> = { ...query, ...changes }
  const params = new URLSearchParams()
  for (const key of PARAM_ORDER) {
    const value = next[key]
    if (value !== undefined) params.set(key, String(value))
  }
  const search = params.toString()
  return search ? `${FUNNEL_PAGE}?${search}` : FUNNEL_PAGE
}

/** The deliveries list (JSON API) holding exactly the pairs of one reason in the report's window. */
function deliveriesHref(report: FunnelReport, destination: string, entry: FunnelReason): string {
  const params = new URLSearchParams({ destination, status: entry.status })
  if (entry.reason !== null) params.set('reason', entry.reason)
  if (report.source !== null) params.set('source', report.source)
  params.set('since', String(report.since))
  params.set('until', String(report.until))
  return `/admin/deliveries?${params}`
}

const STAGE_LABELS: Record<FunnelStage, string> = {
  filtered: 'Filtered by routing',
  dropped: 'Dropped by the destination',
  parked: 'Parked (destination paused)',
  delivered: 'Delivered',
  retrying: 'Retrying',
  failed: 'Failed',
}

/** Only a few lines per page: the rest of the look is the dashboard's stylesheet. */
const FUNNEL_CSS = `
.funnel-card { padding: 16px 20px; margin-top: 16px; }
.funnel-steps td.stage-sub { padding-left: 28px; }
.funnel-steps td.num { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
.funnel-steps meter { width: 100%; min-width: 80px; }
.funnel-reasons { margin-top: 12px; display: grid; gap: 12px; }
.funnel-reasons h3 { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.funnel-pickers { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
`

function RangeSwitch(props: { query: FunnelQuery }) {
  const active = props.query.since === undefined ? (props.query.range ?? DEFAULT_FUNNEL_RANGE) : undefined
  return (
    <nav class="segmented" aria-label="time range">
      {(Object.keys(FUNNEL_RANGES) as FunnelRangeName[]).map((name) => (
        <a
          href={funnelHref(props.query, { range: name, since: undefined, until: undefined })}
          class={name === active ? 'active' : ''}
          aria-current={name === active ? 'page' : undefined}
        >
          {FUNNEL_RANGES[name].label}
        </a>
      ))}
    </nav>
  )
}

/** Destination and source pickers: a GET form, so the view is its URL. */
function Pickers(props: { query: FunnelQuery; destinations: string[]; sources: string[] }) {
  const { query } = props
  return (
    <form class="funnel-pickers search" method="get" action={FUNNEL_PAGE}>
      {query.range !== undefined ? <input type="hidden" name="range" value={query.range} /> : null}
      {query.since !== undefined ? <input type="hidden" name="since" value={String(query.since)} /> : null}
      {query.until !== undefined ? <input type="hidden" name="until" value={String(query.until)} /> : null}
      <Picker
        name="destination"
        label="destination"
        all="All destinations"
        choices={props.destinations}
        selected={query.destination}
      />
      <Picker
        name="source"
        label="source"
        all="All sources"
        choices={props.sources}
        selected={query.source}
      />
      <button type="submit" class="btn">
        Show
      </button>
    </form>
  )
}

function Samples(props: { samples: FunnelSample[] }) {
  if (props.samples.length === 0) return <p class="muted">No sample found.</p>
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Last change</th>
            <th>Event</th>
            <th>Attempts</th>
            <th>Partner response</th>
          </tr>
        </thead>
        <tbody>
          {props.samples.map((sample) => (
            <tr data-sample={sample.messageId}>
              <td class="when">{formatTimestamp(sample.updatedAt)}</td>
              <td class="event">
                <div>
                  <span class={`type type-${sample.type}`}>{sample.type}</span>{' '}
                  <span class="event-name">{sample.eventName ?? ''}</span>
                </div>
                <a
                  class="mono id"
                  href={dashboardHref({ window: '24h' }, { q: sample.messageId })}
                  title={sample.messageId}
                >
                  {shortenId(sample.messageId)}
                </a>
                <span class="muted source"> · {sample.source}</span>
              </td>
              <td>{sample.attempts}</td>
              <td class="response">
                {sample.partnerStatus !== null ? <span class="http">HTTP {sample.partnerStatus}</span> : null}
                {sample.lastError !== null ? <code class="reason">{sample.lastError}</code> : null}
                {sample.summary !== null ? <span class="summary">{sample.summary}</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** Each sampled reason with its events; a link to every pair of that reason. */
function SampledReasons(props: { report: FunnelReport; funnel: DestinationFunnel }) {
  const sampled = FUNNEL_STAGES.flatMap((stage) =>
    props.funnel[stage].reasons
      .filter((entry) => entry.samples !== undefined)
      .map((entry) => ({ stage, entry })),
  )
  if (sampled.length === 0) return null
  return (
    <div class="funnel-reasons">
      {sampled.map(({ stage, entry }) => (
        <div data-reason={`${stage}:${entry.reason ?? ''}`}>
          <h3>
            <span>{STAGE_LABELS[stage]}</span>
            <code>{entry.reason ?? 'no reason'}</code>
            <span>{formatCount(entry.count)}</span>
            <a href={deliveriesHref(props.report, props.funnel.destination, entry)}>all of them</a>
          </h3>
          <Samples samples={entry.samples ?? []} />
        </div>
      ))}
    </div>
  )
}

function StepRow(props: { label: string; count: number; received: number; sub?: boolean; step: string }) {
  return (
    <tr data-step={props.step}>
      <td class={props.sub ? 'stage-sub' : ''}>{props.label}</td>
      <td class="num" data-count={props.step}>
        {formatCount(props.count)}
      </td>
      <td>
        <meter min={0} max={Math.max(props.received, 1)} value={props.count} />
      </td>
    </tr>
  )
}

function StageRows(props: { funnel: DestinationFunnel; stage: FunnelStage; sub?: boolean }) {
  const { funnel, stage } = props
  const counted = funnel[stage]
  return (
    <>
      <StepRow
        label={STAGE_LABELS[stage]}
        count={counted.count}
        received={funnel.received}
        step={stage}
        {...(props.sub && { sub: true })}
      />
      {counted.reasons
        .filter((entry) => entry.reason !== null)
        .map((entry) => (
          <tr data-step={`${stage}:${entry.reason}`}>
            <td class="stage-sub">
              <code>{entry.reason}</code>
            </td>
            <td class="num">{formatCount(entry.count)}</td>
            <td />
          </tr>
        ))}
    </>
  )
}

function DestinationFunnelCard(props: { report: FunnelReport; funnel: DestinationFunnel }) {
  const { funnel } = props
  return (
    <article class="card funnel-card" data-destination={funnel.destination}>
      <header class="card-head">
        <h2>{funnel.destination}</h2>
      </header>
      <div class="table-wrap">
        <table class="funnel-steps">
          <thead>
            <tr>
              <th>Stage</th>
              <th>Pairs</th>
              <th>
                <span class="visually-hidden">Share of received</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <StepRow label="Received" count={funnel.received} received={funnel.received} step="received" />
            <StageRows funnel={funnel} stage="filtered" />
            <StageRows funnel={funnel} stage="dropped" />
            {funnel.parked.count > 0 ? <StageRows funnel={funnel} stage="parked" /> : null}
            <StepRow label="Attempted" count={funnel.attempted} received={funnel.received} step="attempted" />
            <StageRows funnel={funnel} stage="delivered" sub={true} />
            <StageRows funnel={funnel} stage="retrying" sub={true} />
            <StageRows funnel={funnel} stage="failed" sub={true} />
          </tbody>
        </table>
      </div>
      <SampledReasons report={props.report} funnel={funnel} />
    </article>
  )
}

/** The funnel page's content: pickers, then one card per destination, or what is wrong with the URL. */
export function FunnelSection(props: {
  nonce: string
  query: FunnelQuery
  report: FunnelReport | null
  issues: InputIssue[]
  destinations: string[]
  sources: string[]
}) {
  const { report } = props
  return (
    <section class="overview funnel">
      <style nonce={props.nonce} dangerouslySetInnerHTML={{ __html: FUNNEL_CSS }} />
      <div class="section-head">
        <div>
          <h1>Delivery funnel</h1>
          <p class="muted">
            {report
              ? `Pairs last changed from ${formatTimestamp(report.since)} to ${formatTimestamp(report.until)}, where they stand now (whole 5-minute buckets).`
              : 'Pairs by where they stand now.'}
          </p>
        </div>
        <RangeSwitch query={props.query} />
      </div>
      <Pickers query={props.query} destinations={props.destinations} sources={props.sources} />
      {props.issues.length > 0 ? (
        <div class="notice notice-warn" role="alert">
          <p>This view’s address is not one the funnel takes:</p>
          <ul class="rule-issues">
            {props.issues.map((issue) => (
              <li>
                <code>{issue.path || '(query)'}</code>: {issue.message}
              </li>
            ))}
          </ul>
          <a href={FUNNEL_PAGE}>Show the last 24 hours</a>
        </div>
      ) : null}
      {report && report.destinations.length === 0 ? (
        <p class="empty">Nothing was delivered, dropped or attempted in this range.</p>
      ) : null}
      {report?.destinations.map((funnel) => (
        <DestinationFunnelCard report={report} funnel={funnel} />
      ))}
    </section>
  )
}
