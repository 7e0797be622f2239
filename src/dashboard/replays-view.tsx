import type { PairKey } from '../ledger/types'
import { DEFAULT_REPLAY_RATE, MAX_REPLAY_RATE, type ReplayJob, type ReplayPlan } from '../queue/replay'
import { REPLAY_ACTION } from './deliveries-table'
import { formatCount, formatRelative, formatTimestamp, shortenId } from './format'

/** The jobs page, and where its forms post (handled in routes.tsx). */
export const REPLAYS_PAGE = '/admin/replays'
export const REPLAY_START_ACTION = '/admin/replays/start'
export const REPLAY_CANCEL_ACTION = '/admin/replays/cancel'

/** What the plan page was asked about: one delivery (its row's button) or the table's filter. */
export type PlanTarget =
  | { kind: 'pair'; pair: PairKey }
  | { kind: 'filter'; status: 'failed' | 'dropped'; destination?: string; q?: string }

function describeTarget(target: PlanTarget): string {
  if (target.kind === 'pair')
    return `the ${target.pair.destination} delivery of ${target.pair.messageId} (${target.pair.source})`
  const parts = [`every ${target.status} delivery`]
  if (target.destination) parts.push(`to ${target.destination}`)
  if (target.q) parts.push(`of messageId or userId ${target.q}`)
  return parts.join(' ')
}

function PlanTable(props: { plan: ReplayPlan }) {
  return (
    <div class="table-wrap">
      <table class="replay-plan">
        <thead>
          <tr>
            <th>Destination</th>
            <th>Will be resent</th>
            <th>Cannot be resent (event not kept)</th>
          </tr>
        </thead>
        <tbody>
          {props.plan.destinations.map((count) => (
            <tr data-destination={count.destination}>
              <td>{count.destination}</td>
              <td data-count="replayable">{formatCount(count.replayable)}</td>
              <td data-count="not-kept">{formatCount(count.notKept)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The confirm step: the form that does what the plan says, with the same inputs. */
function ConfirmForm(props: { target: PlanTarget; replayable: number }) {
  const { target } = props
  if (target.kind === 'pair') {
    return (
      <form method="post" action={REPLAY_ACTION} class="replay-confirm">
        <input type="hidden" name="source" value={target.pair.source} />
        <input type="hidden" name="messageId" value={target.pair.messageId} />
        <input type="hidden" name="destination" value={target.pair.destination} />
        <button type="submit" class="btn btn-confirm">
          Confirm replay
        </button>
      </form>
    )
  }
  return (
    <form method="post" action={REPLAY_START_ACTION} class="replay-confirm">
      <input type="hidden" name="status" value={target.status} />
      {target.destination ? <input type="hidden" name="destination" value={target.destination} /> : null}
      {target.q ? <input type="hidden" name="q" value={target.q} /> : null}
      <label>
        Pace (deliveries per second){' '}
        <input
          type="number"
          name="rate"
          value={String(DEFAULT_REPLAY_RATE)}
          min="1"
          max={String(MAX_REPLAY_RATE)}
          required
        />
      </label>{' '}
      <button type="submit" class="btn btn-confirm">
        Start replay of {formatCount(props.replayable)}
      </button>
    </form>
  )
}

/** The dry run shown before any replay from the dashboard: what it would resend, then a confirm. */
export function ReplayPlanView(props: { target: PlanTarget; plan: ReplayPlan }) {
  const { target, plan } = props
  return (
    <section class="panel replay-plan-panel">
      <h1>Replay plan</h1>
      <p class="muted">
        A replay of {describeTarget(target)}. Nothing has been resent yet; deliveries that were delivered are
        never resent from here.
      </p>
      {plan.destinations.length > 0 ? <PlanTable plan={plan} /> : null}
      {plan.replayable > 0 ? (
        <ConfirmForm target={target} replayable={plan.replayable} />
      ) : (
        <p class="notice notice-warn" role="status">
          Nothing to replay: no matching delivery is failed or dropped with its event kept.
        </p>
      )}
      <p>
        <a href="/admin">← Back to the deliveries</a>
      </p>
    </section>
  )
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record)
  return entries.length === 0 ? '—' : entries.map(([key, count]) => `${key} ${formatCount(count)}`).join(', ')
}

const STATE_CLASS: Record<ReplayJob['state'], string> = {
  running: 'status-retrying',
  done: 'status-delivered',
  cancelled: 'status-dropped',
  failed: 'status-failed',
}

function JobRow(props: { job: ReplayJob; now: number }) {
  const { job } = props
  const planned = job.planned.reduce((sum, count) => sum + count.replayable, 0)
  return (
    <tr data-replay-id={job.id} data-state={job.state}>
      <td class="when" title={formatTimestamp(job.createdAt)}>
        {formatRelative(job.createdAt, props.now)}
        <span class="muted"> · {job.actor}</span>
      </td>
      <td class="mono id" title={job.id}>
        {shortenId(job.id)}
      </td>
      <td>
        <code>{JSON.stringify({ ...job.filter, statuses: job.statuses })}</code>
      </td>
      <td>{formatCount(job.rate)}/s</td>
      <td data-count="planned">{formatCount(planned)}</td>
      <td data-count="queued" title={counts(job.queuedByDestination)}>
        {formatCount(job.queued)}
      </td>
      <td class="muted">{counts(job.skipped)}</td>
      <td>
        <span class={`badge ${STATE_CLASS[job.state]}`}>{job.state}</span>
        {job.cancelledBy ? <span class="muted"> by {job.cancelledBy}</span> : null}
        {job.lastError ? <code class="reason">{job.lastError}</code> : null}
      </td>
      <td class="action">
        {job.state === 'running' ? (
          <form method="post" action={REPLAY_CANCEL_ACTION} class="replay-form">
            <input type="hidden" name="id" value={job.id} />
            <button type="submit" class="btn btn-small btn-replay btn-cancel">
              Cancel
            </button>
          </form>
        ) : null}
      </td>
    </tr>
  )
}

/** The jobs table: the live region the refresh script replaces. */
export function ReplayJobsTable(props: { jobs: ReplayJob[]; now: number }) {
  return (
    <div id="replays-live" data-live>
      {props.jobs.length === 0 ? (
        <p class="empty">No replay jobs yet. Filter the deliveries by failed or dropped to start one.</p>
      ) : (
        <div class="table-wrap">
          <table class="replay-jobs">
            <thead>
              <tr>
                <th>Started</th>
                <th>Job</th>
                <th>Filter</th>
                <th>Pace</th>
                <th>Planned</th>
                <th>Queued</th>
                <th>Skipped</th>
                <th>State</th>
                <th>
                  <span class="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.jobs.map((job) => (
                <JobRow job={job} now={props.now} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}

/** Recent replay jobs with their progress, and a cancel button on running ones. */
export function ReplayJobsSection(props: { jobs: ReplayJob[]; now: number; notice?: string }) {
  return (
    <section class="panel replays">
      <div class="section-head">
        <div>
          <h1>Replays</h1>
          <p class="muted">
            Replays by filter, paced and oldest events first. Cancel stops a job before its next page;
            deliveries it already queued are still delivered.
          </p>
        </div>
      </div>
      {props.notice ? (
        <p class="notice notice-ok" role="status">
          {props.notice}
        </p>
      ) : null}
      <ReplayJobsTable jobs={props.jobs} now={props.now} />
    </section>
  )
}
