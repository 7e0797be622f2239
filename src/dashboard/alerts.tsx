import type { AlertRecord, Incident } from '../operations/alerts/types'
import { formatRelative, formatTimestamp } from './format'

const ALERT_BADGES: Partial<Record<AlertRecord['status'], string>> = {
  sent: 'status-delivered',
  failed: 'status-failed',
  pending: 'status-retrying',
  sending: 'status-retrying',
}

function When(props: { at: number; now: number }) {
  return <time title={formatTimestamp(props.at)}>{formatRelative(props.at, props.now)}</time>
}

function IncidentsTable(props: { incidents: Incident[]; now: number }) {
  if (props.incidents.length === 0) return <p class="empty">No open incidents.</p>
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Opened</th>
            <th>Incident</th>
            <th>State</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {props.incidents.map((incident) => (
            <tr data-incident={incident.key}>
              <td>
                <When at={incident.openedAt} now={props.now} />
              </td>
              <td>
                {incident.title}
                <br />
                <code class="muted">{incident.key}</code>
              </td>
              <td>
                <span class={`pill ${incident.state === 'open' ? 'pill-warn' : 'pill-ok'}`}>
                  {incident.state === 'open' ? 'open' : 'clearing'}
                </span>
              </td>
              <td class="muted">{incident.detail ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** Each target's answer: `Ops 200`, `Slack TimeoutError`; never a URL. */
function Results(props: { alert: AlertRecord }) {
  if (props.alert.status === 'summarized')
    return <span class="muted">in summary #{props.alert.summaryId}</span>
  if (props.alert.results.length === 0) return <span class="muted">—</span>
  return (
    <>
      {props.alert.results.map((result) => (
        <div>
          {result.target}: <code>{result.status ?? result.error}</code>
        </div>
      ))}
    </>
  )
}

function AlertsTable(props: { alerts: AlertRecord[]; now: number }) {
  if (props.alerts.length === 0) return <p class="empty">No alerts yet.</p>
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Alert</th>
            <th>Status</th>
            <th>Targets</th>
          </tr>
        </thead>
        <tbody>
          {props.alerts.map((alert) => (
            <tr data-alert={alert.id}>
              <td>
                <When at={alert.sentAt ?? alert.createdAt} now={props.now} />
              </td>
              <td>
                <strong>{alert.event}</strong> {alert.title}
                {alert.incidentKey ? (
                  <>
                    <br />
                    <code class="muted">{alert.incidentKey}</code>
                  </>
                ) : null}
              </td>
              <td>
                <span class={`badge ${ALERT_BADGES[alert.status] ?? ''}`}>
                  {alert.status.replace('_', ' ')}
                </span>
              </td>
              <td>
                <Results alert={alert} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The alerts page: incidents not yet resolved, then the last alerts with what each target answered. */
export function AlertsView(props: {
  incidents: Incident[]
  alerts: AlertRecord[]
  configured: boolean
  now: number
}) {
  return (
    <>
      <section class="panel" id="incidents">
        <div class="section-head">
          <div>
            <h1>Alerts</h1>
            <p class="muted">
              Incidents raised by the alert rules; a recovery is sent once one stays clear for the quiet
              period.
            </p>
          </div>
        </div>
        {props.configured ? null : (
          <p class="notice notice-warn" role="status">
            Alerts are off: add an <code>alerts</code> object to the config (README, Alerts).
          </p>
        )}
        <h2>Open incidents</h2>
        <IncidentsTable incidents={props.incidents} now={props.now} />
      </section>
      <section class="panel" id="alert-history">
        <h2>Last alerts</h2>
        <AlertsTable alerts={props.alerts} now={props.now} />
      </section>
    </>
  )
}
