import type { LedgerRow } from '../ledger/types'
import { formatRelative, formatTimestamp, shortenId } from './format'
import { OUTCOMES } from './overview-data'
import { Picker } from './picker'
import { type DashboardQuery, dashboardHref } from './query'

/** Where a replay's confirm posts (handled in routes.tsx). */
export const REPLAY_ACTION = '/admin/deliveries/replay'
/** The dry run every replay from the dashboard shows first, with its confirm (routes.tsx). */
export const REPLAY_PLAN_PAGE = '/admin/replays/plan'

const REPLAY_NOTICES: Record<string, string> = {
  queued: 'Replay queued. The row below turns delivered once the partner accepts it.',
  status_delivered: 'Nothing replayed: that delivery is already delivered.',
  status_retrying: 'Nothing replayed: that delivery is already being retried.',
  event_not_kept: 'Nothing replayed: the router did not keep that event’s body.',
  not_found: 'Nothing replayed: no such delivery.',
}

function SearchForm(props: { query: DashboardQuery; destinations: string[] }) {
  const { query } = props
  const filtered = query.q !== undefined || query.status !== undefined || query.destination !== undefined
  return (
    <search>
      <form class="search" method="get" action="/admin">
        {query.window !== '24h' ? <input type="hidden" name="window" value={query.window} /> : null}
        <input
          type="search"
          name="q"
          value={query.q ?? ''}
          placeholder="Search a messageId or userId"
          aria-label="messageId or userId"
          autocomplete="off"
          spellcheck={false}
        />
        <Picker name="status" label="outcome" all="All outcomes" choices={OUTCOMES} selected={query.status} />
        <Picker
          name="destination"
          label="destination"
          all="All destinations"
          choices={props.destinations}
          selected={query.destination}
        />
        <button type="submit" class="btn">
          Search
        </button>
        {filtered ? (
          <a class="btn btn-ghost" href={dashboardHref({ window: query.window })}>
            Clear
          </a>
        ) : null}
      </form>
    </search>
  )
}

function EventCell(props: { row: LedgerRow; query: DashboardQuery }) {
  const { row } = props
  return (
    <td class="event">
      <div>
        <span class={`type type-${row.event_type}`}>{row.event_type}</span>
        <span class="event-name">{row.event_name ?? ''}</span>
      </div>
      <a class="mono id" href={dashboardHref(props.query, { q: row.message_id })} title={row.message_id}>
        {shortenId(row.message_id)}
      </a>
      <span class="muted source"> · {row.source}</span>
    </td>
  )
}

function OutcomeCell(props: { row: LedgerRow; now: number }) {
  const { row } = props
  return (
    <td class="outcome">
      <span class={`badge status-${row.status}`} data-status={row.status}>
        {row.status}
      </span>
      {row.reason ? (
        <code class="reason" title={row.reason}>
          {row.reason}
        </code>
      ) : null}
      {row.status === 'retrying' && row.next_attempt_at ? (
        <span class="muted next-try">
          {row.next_attempt_at > props.now
            ? `next try ${formatRelative(row.next_attempt_at, props.now)}`
            : 'next try due now'}
        </span>
      ) : null}
    </td>
  )
}

function ResponseCell(props: { row: LedgerRow }) {
  const { row } = props
  if (row.partner_status === null && !row.response_summary && !row.last_error)
    return <td class="response muted">—</td>
  return (
    <td class="response">
      {row.partner_status !== null ? (
        <span class={`http http-${Math.floor(row.partner_status / 100)}xx`}>HTTP {row.partner_status}</span>
      ) : null}
      {row.last_error ? <code class="reason">{row.last_error}</code> : null}
      {row.response_summary ? (
        <span class="summary" title={row.response_summary}>
          {row.response_summary}
        </span>
      ) : null}
    </td>
  )
}

function ReplayButton(props: { row: LedgerRow }) {
  if (props.row.status !== 'failed') return null
  return (
    <form method="get" action={REPLAY_PLAN_PAGE} class="replay-form">
      <input type="hidden" name="source" value={props.row.source} />
      <input type="hidden" name="messageId" value={props.row.message_id} />
      <input type="hidden" name="destination" value={props.row.destination} />
      <button type="submit" class="btn btn-small btn-replay">
        Replay
      </button>
    </form>
  )
}

function DeliveryRow(props: { row: LedgerRow; query: DashboardQuery; now: number }) {
  const { row } = props
  return (
    <tr
      data-message-id={row.message_id}
      data-destination={row.destination}
      data-status={row.status}
      class={`row-${row.status}`}
    >
      <td class="when" title={formatTimestamp(row.updated_at)}>
        {formatRelative(row.updated_at, props.now)}
      </td>
      <EventCell row={row} query={props.query} />
      <td class="user">
        {row.user_id ? (
          <a href={dashboardHref(props.query, { q: row.user_id })} title={row.user_id}>
            {shortenId(row.user_id, 14)}
          </a>
        ) : (
          <span class="muted">anonymous</span>
        )}
      </td>
      <td class="destination">{row.destination}</td>
      <OutcomeCell row={row} now={props.now} />
      <td class="attempts">
        {row.attempts}
        {row.replays > 0 ? <span class="muted"> · replayed {row.replays}×</span> : null}
      </td>
      <ResponseCell row={row} />
      <td class="action">
        <ReplayButton row={row} />
      </td>
    </tr>
  )
}

export interface DeliveriesPage {
  deliveries: LedgerRow[]
  nextCursor: string | null
}

/** The rows themselves: the live region the refresh script replaces. */
export function DeliveriesTable(props: { page: DeliveriesPage; query: DashboardQuery; now: number }) {
  const { page, query } = props
  return (
    <div id="deliveries-live" data-live>
      {page.deliveries.length === 0 ? (
        <p class="empty">
          {query.q || query.status || query.destination
            ? 'No deliveries match this search.'
            : 'No deliveries yet. Send an event to /v1/track and it shows up here within a second or two.'}
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Event</th>
                <th>User</th>
                <th>Destination</th>
                <th>Outcome</th>
                <th>Attempts</th>
                <th>Partner response</th>
                <th>
                  <span class="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.deliveries.map((row) => (
                <DeliveryRow row={row} query={query} now={props.now} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager">
        {query.cursor ? <a href={dashboardHref(query)}>← Newest</a> : <span />}
        {page.nextCursor ? <a href={dashboardHref(query, { cursor: page.nextCursor })}>Older →</a> : null}
      </nav>
    </div>
  )
}

/** The plan page for a replay of everything the table's search and filters match. */
function replayMatchingHref(query: DashboardQuery): string {
  const params = new URLSearchParams()
  if (query.status) params.set('status', query.status)
  if (query.destination) params.set('destination', query.destination)
  if (query.q) params.set('q', query.q)
  return `${REPLAY_PLAN_PAGE}?${params}`
}

/** The latest ledger rows with search, paging and a replay button on failed ones. */
export function DeliveriesSection(props: {
  page: DeliveriesPage
  query: DashboardQuery
  destinations: string[]
  now: number
}) {
  const { query } = props
  const notice = query.replay ? (REPLAY_NOTICES[query.replay] ?? `Nothing replayed (${query.replay}).`) : null
  const replayable = query.status === 'failed' || query.status === 'dropped'
  return (
    <section class="panel deliveries">
      <div class="section-head">
        <h2>Latest deliveries</h2>
        <SearchForm query={query} destinations={props.destinations} />
      </div>
      {notice ? (
        <p class={`notice ${query.replay === 'queued' ? 'notice-ok' : 'notice-warn'}`} role="status">
          {notice}
        </p>
      ) : null}
      {replayable ? (
        <p class="replay-matching">
          <a class="btn btn-small btn-replay" href={replayMatchingHref(query)}>
            Replay all matching…
          </a>{' '}
          <span class="muted">shows what it would resend first</span>
        </p>
      ) : null}
      <DeliveriesTable page={props.page} query={query} now={props.now} />
    </section>
  )
}
