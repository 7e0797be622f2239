import { REDACTED } from '../config/redact'
import { findDestination } from '../destinations/registry'
import { isPlainObject } from '../lib/objects'

/**
 * The sources and destinations page. It is given only the *redacted* config
 * document (redactConfig), so no secret can reach the HTML whatever this view does.
 */

interface DestinationView {
  name: string
  enabled: boolean
  endpoint: string
  settings: [key: string, value: string][]
}

interface SourceView {
  name: string
  webhook: { label: string; tone: 'ok' | 'warn' | 'off' }
  firstEventSignature: boolean
  destinations: DestinationView[]
}

type JsonRecord = Record<string, unknown>

function settingText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/**
 * Settings shown in their own columns rather than among the others: every
 * destination's `enabled` and `apiBase`, and Calixa's `endpoint` (its only URL).
 */
const COLUMN_KEYS = new Set(['enabled', 'apiBase', 'endpoint'])

function describeDestination(name: string, settings: unknown): DestinationView {
  const record = isPlainObject(settings) ? settings : {}
  const url = [record.apiBase, record.endpoint].find((value): value is string => typeof value === 'string')
  return {
    name,
    enabled: record.enabled !== false,
    endpoint: url ?? findDestination(name)?.defaultApiBase ?? 'not set',
    settings: Object.entries(record)
      .filter(([key]) => !COLUMN_KEYS.has(key))
      .map(([key, value]) => [key, settingText(value)]),
  }
}

function describeWebhook(source: JsonRecord): SourceView['webhook'] {
  if (typeof source.webhookSecret === 'string') return { label: 'signed (X-Signature checked)', tone: 'ok' }
  if (source.allowUnsigned === true) return { label: 'unsigned accepted', tone: 'warn' }
  return { label: 'refused (no webhookSecret)', tone: 'off' }
}

/** Reads the redacted document defensively: it is whatever was stored, validated or not. */
export function describeSources(redacted: unknown): SourceView[] {
  if (!isPlainObject(redacted) || !Array.isArray(redacted.sources)) return []
  return redacted.sources.filter(isPlainObject).map((source) => ({
    name: String(source.name),
    webhook: describeWebhook(source),
    firstEventSignature: source.acceptFirstEventSignature === true,
    destinations: Object.entries(isPlainObject(source.destinations) ? source.destinations : {}).map(
      ([name, settings]) => describeDestination(name, settings),
    ),
  }))
}

function SettingValue(props: { value: string }) {
  return props.value === REDACTED ? (
    <span class="redacted">redacted</span>
  ) : (
    <code title={props.value}>{props.value}</code>
  )
}

function SourceCard(props: { source: SourceView }) {
  const { source } = props
  return (
    <article class="panel source" data-source={source.name}>
      <header class="source-head">
        <h2>{source.name}</h2>
        <dl class="facts">
          <div>
            <dt>Write key</dt>
            <dd>
              <span class="redacted">redacted</span>
            </dd>
          </div>
          <div>
            <dt>Webhooks</dt>
            <dd>
              <span class={`pill pill-${source.webhook.tone}`}>{source.webhook.label}</span>
              {source.firstEventSignature ? (
                <span class="pill pill-warn" title="batched webhooks: only the first event is signed">
                  first-event signature
                </span>
              ) : null}
            </dd>
          </div>
        </dl>
      </header>
      {source.destinations.length === 0 ? (
        <p class="empty">No destinations: events from this source are accepted and go nowhere.</p>
      ) : (
        <div class="table-wrap">
          <table class="config-table">
            <thead>
              <tr>
                <th>Destination</th>
                <th>State</th>
                <th>Partner endpoint</th>
                <th>Settings</th>
              </tr>
            </thead>
            <tbody>
              {source.destinations.map((destination) => (
                <tr data-destination={destination.name}>
                  <td class="destination">{destination.name}</td>
                  <td>
                    <span class={`pill pill-${destination.enabled ? 'enabled' : 'disabled'}`}>
                      {destination.enabled ? 'enabled' : 'disabled'}
                    </span>
                  </td>
                  <td>
                    <code class="endpoint">{destination.endpoint}</code>
                  </td>
                  <td>
                    <dl class="settings">
                      {destination.settings.map(([key, value]) => (
                        <div>
                          <dt>{key}</dt>
                          <dd>
                            <SettingValue value={value} />
                          </dd>
                        </div>
                      ))}
                    </dl>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  )
}

/** Every source with its destinations, from the redacted config. */
export function ConfigView(props: { redacted: unknown }) {
  const sources = describeSources(props.redacted)
  return (
    <section class="config">
      <div class="section-head">
        <div>
          <h1>Sources &amp; destinations</h1>
          <p class="muted">
            The stored config, secrets redacted. Change it with <code>PUT /admin/config</code>; a PUT takes
            effect within 5 seconds.
          </p>
        </div>
      </div>
      {sources.length === 0 ? (
        <p class="empty">No config stored yet.</p>
      ) : (
        sources.map((source) => <SourceCard source={source} />)
      )}
      <details class="panel raw">
        <summary>Config document (redacted JSON)</summary>
        <pre>{JSON.stringify(props.redacted, null, 2)}</pre>
      </details>
    </section>
  )
}
