import { formatClock } from './format'
import { OUTCOMES, type OutcomeCounts } from './overview-data'

const WIDTH = 320
const HEIGHT = 56
const GAP = 2
/** A non-zero count never draws thinner than this, so one failure among thousands still shows. */
const MIN_SEGMENT = 2

function total(counts: OutcomeCounts): number {
  return OUTCOMES.reduce((sum, outcome) => sum + counts[outcome], 0)
}

function describe(counts: OutcomeCounts): string {
  const parts = OUTCOMES.filter((outcome) => counts[outcome] > 0).map(
    (outcome) => `${counts[outcome]} ${outcome}`,
  )
  return parts.length > 0 ? parts.join(' · ') : 'nothing'
}

/** One bar: outcomes stacked bottom-up in OUTCOMES order, scaled to the busiest bar. */
function Bar(props: { counts: OutcomeCounts; index: number; slot: number; scale: number; label: string }) {
  const x = props.index * props.slot + GAP / 2
  const width = Math.max(props.slot - GAP, 1)
  let y = HEIGHT
  const segments = OUTCOMES.filter((outcome) => props.counts[outcome] > 0).map((outcome) => {
    const height = Math.max(props.counts[outcome] * props.scale, MIN_SEGMENT)
    y -= height
    return <rect class={`seg seg-${outcome}`} x={x} y={y} width={width} height={height} />
  })
  return (
    <g>
      <title>{`${props.label}: ${describe(props.counts)}`}</title>
      <rect class="bar-hit" x={props.index * props.slot} y={0} width={props.slot} height={HEIGHT} />
      {segments}
    </g>
  )
}

/**
 * A stacked bar chart of outcomes over time, drawn as inline SVG by the Worker
 * (no chart library, no script). Each bar's tooltip says its time span and counts.
 */
export function OutcomeChart(props: { buckets: OutcomeCounts[]; since: number; bucketMs: number }) {
  const slot = WIDTH / Math.max(props.buckets.length, 1)
  const busiest = Math.max(0, ...props.buckets.map(total))
  // Leave headroom above the busiest bar so stacked minimum-height segments still fit.
  const scale = (HEIGHT - OUTCOMES.length * MIN_SEGMENT) / Math.max(busiest, 1)
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`outcomes per ${props.bucketMs / 60_000} minutes`}
      >
        <line class="chart-base" x1={0} y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
        {props.buckets.map((counts, index) => {
          const start = props.since + index * props.bucketMs
          const label = `${formatClock(start).slice(0, 5)}–${formatClock(start + props.bucketMs).slice(0, 5)} UTC`
          return <Bar counts={counts} index={index} slot={slot} scale={scale} label={label} />
        })}
      </svg>
      <figcaption>
        <span>{formatClock(props.since).slice(0, 5)}</span>
        <span>busiest bar {busiest}</span>
        <span>now</span>
      </figcaption>
    </figure>
  )
}
