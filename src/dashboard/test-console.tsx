import { type DestinationTarget, destinationId } from '../config/destination-id'
import type { TestExchange, TestSendResult } from '../delivery/test-send'
import type { InputIssue } from '../lib/errors'
import { isPlainObject } from '../lib/objects'
import { SAMPLE_EVENTS, SAMPLE_NAMES } from '../segment/samples'

/**
 * The test console of one destination: send a sample of the Spec or a pasted
 * event, see the outcome and every partner exchange. It renders only what
 * `testSend` returns, already redacted, so no secret can reach the HTML.
 */

/** The page of a destination (`<source>:<destination>`, e.g. `web:Crossing%20Minds`). */
export function testConsoleHref(source: string, destination: string): string {
  return `/admin/destinations/${encodeURIComponent(destinationId(source, destination))}/test`
}

/** Where its forms post: beside the page, not on it, as `POST …/test` is the JSON API's. */
export function testConsoleAction(source: string, destination: string): string {
  return `${testConsoleHref(source, destination)}/send`
}

export interface TestConsoleProps {
  target: DestinationTarget
  /** The sample just sent, or the pasted text to show again. */
  sample?: string
  pasted?: string
  issues?: InputIssue[]
  result?: TestSendResult
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2)
}

const OUTCOME_CLASS = {
  delivered: 'delivered',
  dropped: 'dropped',
  failed: 'failed',
  retry: 'retrying',
} as const

function Exchange(props: { exchange: TestExchange; index: number }) {
  const { exchange, index } = props
  const band = `http-${Math.floor(exchange.response.status / 100)}xx`
  return (
    <article class="panel exchange" data-exchange={index}>
      <h3>
        <span class="type">{exchange.method}</span> <code class="exchange-url">{exchange.url}</code>
      </h3>
      <div class="exchange-grid">
        <section>
          <h4>Request</h4>
          <dl class="settings exchange-headers">
            {Object.entries(exchange.headers).map(([name, value]) => (
              <div>
                <dt>{name}</dt>
                <dd>
                  <code>{value}</code>
                </dd>
              </div>
            ))}
          </dl>
          {exchange.body === undefined ? null : <pre class="exchange-body">{json(exchange.body)}</pre>}
        </section>
        <section>
          <h4>
            Response{' '}
            <span class={`http ${band}`} data-status={exchange.response.status}>
              {exchange.response.status === 0 ? 'no answer' : `HTTP ${exchange.response.status}`}
            </span>
            {exchange.sent ? null : <span class="pill pill-warn">not sent by the router</span>}
          </h4>
          {exchange.response.body === undefined ? (
            <p class="muted">(empty body)</p>
          ) : (
            <pre class="response-body">{json(exchange.response.body)}</pre>
          )}
        </section>
      </div>
    </article>
  )
}

function Result(props: { result: TestSendResult }) {
  const { result } = props
  return (
    <section class="test-result" data-outcome={result.outcome.status}>
      <div class="panel">
        <h2>
          <span class={`badge status-${OUTCOME_CLASS[result.outcome.status]}`}>{result.outcome.status}</span>{' '}
          <span class="explanation">{result.explanation}</span>
        </h2>
        <p class="muted">
          {result.exchanges.length === 0
            ? 'No request was made to the partner.'
            : `${result.exchanges.length} partner request${result.exchanges.length === 1 ? '' : 's'}, secrets redacted.`}{' '}
          Nothing was recorded in the ledger.
        </p>
        <details class="raw">
          <summary>The event {result.routed ? 'as the destination got it' : 'as routed'}</summary>
          <pre>{json(result.event)}</pre>
        </details>
      </div>
      {result.exchanges.map((exchange, index) => (
        <Exchange exchange={exchange} index={index} />
      ))}
    </section>
  )
}

/** Where the partner is reached: `apiBase`, else Calixa's `endpoint`, else the production origin. */
function endpointOf(target: DestinationTarget): string {
  const settings = isPlainObject(target.config.settings) ? target.config.settings : {}
  const endpoint = typeof settings.endpoint === 'string' ? settings.endpoint : undefined
  return target.config.apiBase ?? endpoint ?? target.definition.defaultApiBase ?? 'not set'
}

export function TestConsole(props: TestConsoleProps) {
  const { target } = props
  const action = testConsoleAction(target.source.name, target.destination)
  return (
    <section class="test-console" data-destination-id={target.id}>
      <div class="section-head">
        <div>
          <h1>
            Test {target.destination} <span class="muted">· source {target.source.name}</span>
          </h1>
          <p class="muted">
            Sends one event through this destination's rules to <code>{endpointOf(target)}</code> and shows
            what the partner got and answered. Nothing is recorded in the ledger; partner state (Crisp's known
            users, say) changes as with a real send.
          </p>
        </div>
        <a class="btn btn-ghost btn-small" href="/admin/sources">
          Back to sources
        </a>
      </div>
      {target.config.enabled ? null : (
        <p class="notice notice-warn">This destination is disabled: real events are not sent to it.</p>
      )}
      {/* The answer first: after a send it is what the operator came for; the forms follow to send again. */}
      {props.result ? <Result result={props.result} /> : null}
      <div class="panel">
        <h2>Send a sample of the Segment Spec</h2>
        <form method="post" action={action} class="sample-form">
          {SAMPLE_NAMES.map((name) => (
            <button
              type="submit"
              name="sample"
              value={name}
              class={`btn btn-small ${props.sample === name ? '' : 'btn-ghost'}`}
            >
              {name}
            </button>
          ))}
        </form>
        <details class="raw">
          <summary>The samples</summary>
          {SAMPLE_NAMES.map((name) => (
            <>
              <h4>{name}</h4>
              <pre>{json(SAMPLE_EVENTS[name])}</pre>
            </>
          ))}
        </details>
      </div>
      <div class="panel">
        <h2>Or paste an event</h2>
        <form method="post" action={action} class="paste-form">
          <textarea name="event" rows={10} spellcheck={false} aria-label="event JSON">
            {props.pasted ?? ''}
          </textarea>
          {props.issues && props.issues.length > 0 ? (
            <ul class="rule-issues" role="alert">
              {props.issues.map((issue) => (
                <li>
                  <code>{issue.path || '(event)'}</code> {issue.message}
                </li>
              ))}
            </ul>
          ) : null}
          <button type="submit" class="btn">
            Send pasted event
          </button>
        </form>
      </div>
    </section>
  )
}
