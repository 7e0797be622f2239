import { OutcomeChart } from './chart'
import { formatCount } from './format'
import {
  type DestinationSummary,
  OUTCOMES,
  type Outcome,
  type OutcomeCounts,
  type Overview,
  type ReasonCount,
  WINDOWS,
  type WindowName,
} from './overview-data'
import { type DashboardQuery, dashboardHref } from './query'

const STATE_LABELS: Record<DestinationSummary['state'], string> = {
  enabled: 'enabled',
  disabled: 'disabled',
  unconfigured: 'not in config',
}

function WindowSwitch(props: { query: DashboardQuery }) {
  return (
    <nav class="segmented" aria-label="time window">
      {(Object.keys(WINDOWS) as WindowName[]).map((name) => (
        <a
          href={dashboardHref(props.query, { window: name })}
          class={name === props.query.window ? 'active' : ''}
          aria-current={name === props.query.window ? 'page' : undefined}
        >
          {WINDOWS[name].label}
        </a>
      ))}
    </nav>
  )
}

/** The four usual outcomes, and `paused` only where something is parked (a paused destination is rare). */
function shownOutcomes(counts: OutcomeCounts): Outcome[] {
  return OUTCOMES.filter((outcome) => outcome !== 'paused' || counts.paused > 0)
}

/** The headline numbers across every destination. */
function Totals(props: { totals: OutcomeCounts; query: DashboardQuery }) {
  const all = OUTCOMES.reduce((sum, outcome) => sum + props.totals[outcome], 0)
  return (
    <div class="totals">
      {shownOutcomes(props.totals).map((outcome) => (
        <a class={`total total-${outcome}`} href={dashboardHref(props.query, { status: outcome })}>
          <span class="total-label">{outcome}</span>
          <span class="total-value" data-total={outcome}>
            {formatCount(props.totals[outcome])}
          </span>
          <span class="total-share">
            {all === 0 ? '—' : `${Math.round((props.totals[outcome] / all) * 100)}% of ${formatCount(all)}`}
          </span>
        </a>
      ))}
    </div>
  )
}

function Reasons(props: { title: string; outcome: Outcome; reasons: ReasonCount[] }) {
  if (props.reasons.length === 0) return null
  return (
    <div class={`reasons reasons-${props.outcome}`}>
      <h3>{props.title}</h3>
      <ul>
        {props.reasons.slice(0, 4).map((item) => (
          <li data-reason={item.reason}>
            <code title={item.reason}>{item.reason}</code>
            <span>{formatCount(item.count)}</span>
          </li>
        ))}
        {props.reasons.length > 4 ? <li class="more">+{props.reasons.length - 4} more reasons</li> : null}
      </ul>
    </div>
  )
}

function DestinationCard(props: { summary: DestinationSummary; overview: Overview; query: DashboardQuery }) {
  const { summary } = props
  return (
    <article class="card" data-destination={summary.name}>
      <header class="card-head">
        <h2>{summary.name}</h2>
        <span class={`pill pill-${summary.state}`}>{STATE_LABELS[summary.state]}</span>
      </header>
      <div class="counts">
        {shownOutcomes(summary.counts).map((outcome) => (
          <a
            class={`count count-${outcome}${summary.counts[outcome] === 0 ? ' zero' : ''}`}
            href={dashboardHref(props.query, { destination: summary.name, status: outcome })}
          >
            <span class="count-label">{outcome}</span>
            <span class="count-value" data-count={outcome}>
              {formatCount(summary.counts[outcome])}
            </span>
          </a>
        ))}
      </div>
      <OutcomeChart
        buckets={summary.buckets}
        since={props.overview.chartSince}
        bucketMs={props.overview.bucketMs}
      />
      <Reasons title="Dropped because" outcome="dropped" reasons={summary.dropReasons} />
      <Reasons title="Failed because" outcome="failed" reasons={summary.failReasons} />
    </article>
  )
}

/** Per-destination cards with counts, reasons and a chart; refreshed in place by the live script. */
export function OverviewSection(props: { overview: Overview; query: DashboardQuery }) {
  const { overview, query } = props
  return (
    <section id="overview" data-live class="overview">
      <div class="section-head">
        <div>
          <h1>Deliveries</h1>
          <p class="muted">
            What happened to every event, per destination — {WINDOWS[overview.window].label.toLowerCase()}, by
            last status change.
          </p>
        </div>
        <WindowSwitch query={query} />
      </div>
      {overview.capacity.warning && (
        <p class="notice notice-warn" role="alert">
          Ledger storage: {overview.capacity.warning}
        </p>
      )}
      <Totals totals={overview.totals} query={query} />
      {overview.destinations.length === 0 ? (
        <p class="empty">
          No destinations yet: store a config with <code>PUT /admin/config</code> (see the README's
          Configuration section).
        </p>
      ) : (
        <div class="cards">
          {overview.destinations.map((summary) => (
            <DestinationCard summary={summary} overview={overview} query={query} />
          ))}
        </div>
      )}
    </section>
  )
}
