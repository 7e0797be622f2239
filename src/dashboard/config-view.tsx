import { destinationId } from '../config/destination-id'
import { REDACTED } from '../config/redact'
import { destinationRules, RULE_KEYS } from '../config/rules-edit'
import { findDestination } from '../destinations/registry'
import type { InputIssue } from '../lib/errors'
import { isPlainObject } from '../lib/objects'
import type { GateStatus } from '../operations/gate'
import { testConsoleHref } from './test-console'

/**
 * The sources and destinations page. It is given only the *redacted* config
 * document (redactConfig), so no secret can reach the HTML whatever this view does.
 */

interface DestinationView {
  name: string
  enabled: boolean
  endpoint: string
  settings: [key: string, value: string][]
  rules: RuleView[]
  /** The rules as the editor shows them (JSON). */
  rulesJson: string
}

/** A rules edit the operator submitted and must fix: what they typed, and what is wrong with it. */
export interface RulesEdit {
  source: string
  destination: string
  text: string
  issues: InputIssue[]
}

/** The form that saves a destination's rules (POST, same origin). */
export const RULES_ACTION = '/admin/sources/rules'
/** The form that pauses or resumes a destination (POST, same origin). */
export const GATE_ACTION = '/admin/sources/gate'

/** Each destination's gate by id (`<source>:<destination>`), as the page shows pause and holds. */
export type GateStates = ReadonlyMap<string, GateStatus>

/** One line of a destination's rules (what may reach the partner), as an operator reads it. */
interface RuleView {
  kind: 'consent' | 'filter' | 'fields'
  label: string
  text: string
}

interface SourceView {
  name: string
  webhook: { label: string; tone: 'ok' | 'warn' | 'off' }
  firstEventSignature: boolean
  /** Shown only where it matters: a destination needs consent, or the source drops events without it. */
  consentMissing: 'send' | 'drop' | undefined
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

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(settingText) : []
}

/** The rules as stored (validated on PUT), one line each: consent, then filters in order, then field controls. */
function describeRules(record: JsonRecord): RuleView[] {
  const rules: RuleView[] = []
  const categories = stringList(record.consent)
  if (categories.length > 0)
    rules.push({ kind: 'consent', label: 'needs consent', text: categories.join(', ') })
  for (const filter of Array.isArray(record.filters) ? record.filters.filter(isPlainObject) : []) {
    const criteria = [
      ...(Array.isArray(filter.types) ? [`types ${stringList(filter.types).join(', ')}`] : []),
      ...(Array.isArray(filter.events) ? [`events ${stringList(filter.events).join(', ')}`] : []),
      ...(typeof filter.if === 'string' ? [`if ${filter.if}`] : []),
    ]
    rules.push({
      kind: 'filter',
      label: `${filter.action === 'only' ? 'only send' : 'drop'} · ${settingText(filter.name)}`,
      text: criteria.join(' and '),
    })
  }
  const fields = isPlainObject(record.fields) ? record.fields : {}
  for (const action of ['allow', 'deny', 'hash'] as const) {
    const paths = stringList(fields[action])
    if (paths.length > 0) rules.push({ kind: 'fields', label: `fields ${action}`, text: paths.join(', ') })
  }
  return rules
}

function describeDestination(name: string, settings: unknown): DestinationView {
  const record = isPlainObject(settings) ? settings : {}
  const url = [record.apiBase, record.endpoint].find((value): value is string => typeof value === 'string')
  return {
    name,
    enabled: record.enabled !== false,
    endpoint: url ?? findDestination(name)?.defaultApiBase ?? 'not set',
    settings: Object.entries(record)
      .filter(([key]) => !COLUMN_KEYS.has(key) && !RULE_KEYS.includes(key))
      .map(([key, value]) => [key, settingText(value)]),
    rules: describeRules(record),
    rulesJson: JSON.stringify(destinationRules(record), null, 2),
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
  return redacted.sources.filter(isPlainObject).map((source) => {
    const destinations = Object.entries(isPlainObject(source.destinations) ? source.destinations : {}).map(
      ([name, settings]) => describeDestination(name, settings),
    )
    const gated = destinations.some((destination) =>
      destination.rules.some((rule) => rule.kind === 'consent'),
    )
    const drops = source.consentMissing === 'drop'
    return {
      name: String(source.name),
      webhook: describeWebhook(source),
      firstEventSignature: source.acceptFirstEventSignature === true,
      consentMissing: drops ? 'drop' : gated ? 'send' : undefined,
      destinations,
    }
  })
}

function SettingValue(props: { value: string }) {
  return props.value === REDACTED ? (
    <span class="redacted">redacted</span>
  ) : (
    <code title={props.value}>{props.value}</code>
  )
}

/** A destination's rules as JSON in a form; with the submitted text and its issues when a save was refused. */
function RulesEditor(props: { source: string; destination: DestinationView; edit: RulesEdit | undefined }) {
  const { source, destination, edit } = props
  const mine = edit?.source === source && edit.destination === destination.name ? edit : undefined
  return (
    <details class="rules-edit" open={mine !== undefined}>
      <summary>Edit rules as JSON</summary>
      <form method="post" action={RULES_ACTION}>
        <input type="hidden" name="source" value={source} />
        <input type="hidden" name="destination" value={destination.name} />
        <textarea name="rules" rows={8} spellcheck={false} aria-label={`rules of ${destination.name}`}>
          {mine?.text ?? destination.rulesJson}
        </textarea>
        {mine && mine.issues.length > 0 ? (
          <ul class="rule-issues" role="alert">
            {mine.issues.map((issue) => (
              <li>
                <code>{issue.path || '(document)'}</code> {issue.message}
              </li>
            ))}
          </ul>
        ) : null}
        <button type="submit" class="btn">
          Save rules
        </button>
      </form>
    </details>
  )
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
}

/** Paused (by whom, why), held by a 429, or running; with the button that pauses or resumes it. */
function GateState(props: { id: string; gate: GateStatus | undefined }) {
  const { id, gate } = props
  if (!gate) return null
  const { paused } = gate
  return (
    <div class="gate" data-gate={paused ? 'paused' : 'running'}>
      {paused ? (
        <p>
          <span class="pill pill-paused">{paused.automatic ? 'paused by the router' : 'paused'}</span>{' '}
          <span class="muted">
            since {formatTime(paused.at)} by {paused.actor}: {paused.reason}
          </span>
        </p>
      ) : null}
      {gate.holdUntil !== null ? (
        <p>
          <span class="pill pill-warn">held until {formatTime(gate.holdUntil)}</span>{' '}
          <span class="muted">the partner answered 429</span>
        </p>
      ) : null}
      <form method="post" action={GATE_ACTION}>
        <input type="hidden" name="id" value={id} />
        <input type="hidden" name="action" value={paused ? 'resume' : 'pause'} />
        <button type="submit" class="btn">
          {paused ? 'Resume' : 'Pause'}
        </button>
      </form>
    </div>
  )
}

function SourceCard(props: { source: SourceView; edit: RulesEdit | undefined; gates: GateStates }) {
  const { source, edit, gates } = props
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
          {source.consentMissing === undefined ? null : (
            <div>
              <dt>Without consent</dt>
              <dd>
                <span
                  class={`pill pill-${source.consentMissing === 'drop' ? 'warn' : 'ok'}`}
                  data-consent-missing={source.consentMissing}
                  title="for destinations that need consent categories"
                >
                  {source.consentMissing === 'drop' ? 'dropped (consent_missing)' : 'sent'}
                </span>
              </dd>
            </div>
          )}
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
                <th>Rules</th>
              </tr>
            </thead>
            <tbody>
              {source.destinations.map((destination) => (
                <tr data-destination={destination.name}>
                  <td class="destination">
                    {destination.name}
                    <a class="test-link" href={testConsoleHref(source.name, destination.name)}>
                      Send a test event
                    </a>
                  </td>
                  <td>
                    <span class={`pill pill-${destination.enabled ? 'enabled' : 'disabled'}`}>
                      {destination.enabled ? 'enabled' : 'disabled'}
                    </span>
                    <GateState
                      id={destinationId(source.name, destination.name)}
                      gate={gates.get(destinationId(source.name, destination.name))}
                    />
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
                  <td>
                    {destination.rules.length === 0 ? (
                      <span class="muted">everything it supports</span>
                    ) : (
                      <dl class="settings rules">
                        {destination.rules.map((rule) => (
                          <div data-rule={rule.kind}>
                            <dt>{rule.label}</dt>
                            <dd>
                              <code>{rule.text}</code>
                            </dd>
                          </div>
                        ))}
                      </dl>
                    )}
                    <RulesEditor source={source.name} destination={destination} edit={edit} />
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

/**
 * Every source with its destinations, from the redacted config; `edit` is a
 * refused rules save to show again, `saved` the destination whose rules were just saved.
 */
export function ConfigView(props: {
  redacted: unknown
  gates: GateStates
  edit?: RulesEdit
  saved?: string
}) {
  const { edit, saved, gates } = props
  const sources = describeSources(props.redacted)
  const placed =
    edit !== undefined &&
    sources.some(
      (source) =>
        source.name === edit.source &&
        source.destinations.some((destination) => destination.name === edit.destination),
    )
  return (
    <section class="config">
      <div class="section-head">
        <div>
          <h1>Sources &amp; destinations</h1>
          <p class="muted">
            The stored config, secrets redacted. Change it with <code>PUT /admin/config</code>, or a
            destination's rules right here; a change takes effect within 5 seconds.
          </p>
        </div>
      </div>
      {saved ? <p class="notice notice-ok">Rules saved for {saved}.</p> : null}
      {edit && !placed ? (
        <ul class="notice notice-warn rule-issues" role="alert">
          {edit.issues.map((issue) => (
            <li>
              <code>{issue.path}</code> {issue.message}
            </li>
          ))}
        </ul>
      ) : null}
      {sources.length === 0 ? (
        <p class="empty">No config stored yet.</p>
      ) : (
        sources.map((source) => <SourceCard source={source} edit={edit} gates={gates} />)
      )}
      <details class="panel raw">
        <summary>Config document (redacted JSON)</summary>
        <pre>{JSON.stringify(props.redacted, null, 2)}</pre>
      </details>
    </section>
  )
}
