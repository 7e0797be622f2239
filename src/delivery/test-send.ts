import type { DestinationTarget } from '../config/destination-id'
import { REDACTED } from '../config/redact'
import type { SourceConfig } from '../config/schema'
import type { Bindings } from '../env'
import type { AttemptOutcome } from '../ledger/state'
import type { Clock } from '../lib/clock'
import { logWarn } from '../lib/log'
import { isPlainObject } from '../lib/objects'
import { recordAudit } from '../operations/log'
import type { SegmentEvent } from '../segment/schema'
import { subrequestBudget } from './budget'
import { createDeliveryContext, type PartnerExchange, resolvePartnerRequest } from './context'
import { type RoutingDecision, routeEvent } from './routing'

/**
 * The test console's send (issue 16): one event to one destination, through the
 * destination's routing rules and its real `deliver`, every partner exchange
 * recorded and shown with its secrets redacted. Nothing is written to the
 * ledger; partner state (e.g. Crisp's known users) changes as a real send would.
 */

/** One partner request and its answer, as the operator sees them (redacted). */
export interface TestExchange {
  method: string
  url: string
  headers: Record<string, string>
  body?: unknown
  response: { status: number; body?: unknown }
  /** False when the router did not call the partner (circuit open, subrequest budget spent): `response` is its own. */
  sent: boolean
}

export interface TestSendResult {
  destination: { id: string; source: string; name: string; enabled: boolean }
  /** True when the event reached the destination's `deliver`; false when routing dropped it. */
  routed: boolean
  outcome: AttemptOutcome
  /** The outcome in a sentence, for the operator. */
  explanation: string
  /** The event as the destination got it (after field controls), or as routing dropped it. */
  event: SegmentEvent
  exchanges: TestExchange[]
}

export interface TestSendOptions {
  clock: Clock
  /** Who asked, for the audit list: `admin` (the API) or `dashboard`. */
  actor: string
  /** What was sent, for the audit list, without any event data: `sample track`, `pasted event`. */
  input: string
}

/**
 * The source as routing sees it for this one destination. A disabled destination
 * is tested all the same (trying it before enabling it is the point); the answer says it is off.
 */
function sourceForTest(target: DestinationTarget): SourceConfig {
  return {
    ...target.source,
    destinations: { [target.destination]: { ...target.config, enabled: true } },
  }
}

function detailOf(detail: string | undefined): string {
  return detail === undefined ? '' : ` (${detail})`
}

/** Why routing did not hand the event over, as the operator reads it. */
function explainDrop(decision: Extract<RoutingDecision, { drop: string }>, event: SegmentEvent): string {
  const name = decision.destination
  switch (decision.drop) {
    case 'filtered':
      return `not sent: the filter rule "${decision.detail}" drops this event`
    case 'consent_missing':
    case 'consent_denied':
      return `not sent: ${name} needs consent${detailOf(decision.detail)}`
    case 'integrations_off':
      return `not sent: the event's integrations turn ${name} off`
    case 'unsupported_call':
      return `not sent: ${name} does not take ${event.type} calls`
    default:
      return `not sent: dropped ${decision.drop}${detailOf(decision.detail)}`
  }
}

function explainOutcome(name: string, outcome: AttemptOutcome): string {
  const http = (status: number | undefined) => (status === undefined ? '' : ` (HTTP ${status})`)
  switch (outcome.status) {
    case 'delivered':
      return `delivered: ${name} accepted it${http(outcome.partnerStatus)}`
    case 'dropped':
      return `dropped by ${name}'s mapping: ${outcome.reason}${detailOf(outcome.detail)}`
    case 'failed':
      return `failed: ${name} refused it for good, ${outcome.reason}${http(outcome.partnerStatus)}`
    case 'retry': {
      const after = outcome.retryAfterSeconds === undefined ? '' : ` in ${outcome.retryAfterSeconds} s`
      return `would be retried${after}: ${outcome.error}${http(outcome.partnerStatus)}`
    }
  }
}

/** Header and body keys that hold credentials: their values are shown as the marker whatever they are. */
const CREDENTIAL_KEY = /authorization|api[-_]?key|token|secret|passw(or)?d|signature|cookie|credential/i
/**
 * Parts of a `<id>:<key>` secret, and derived credentials, shorter than this are not
 * searched for in other text (a short one would blank out ordinary words); a
 * credential key's own value is hidden whatever its length.
 */
const MIN_SECRET_PART = 8

/** The secret settings' values, and the halves of a `<id>:<key>` pair. */
function settingSecrets(target: DestinationTarget): string[] {
  const settings = target.config.settings
  if (!isPlainObject(settings)) return []
  return target.definition.secretSettings.flatMap((key) => {
    const value = settings[key]
    if (typeof value !== 'string' && typeof value !== 'number') return []
    const text = String(value)
    return [text, ...text.split(':').filter((part) => part.length >= MIN_SECRET_PART)]
  })
}

/**
 * Credentials the exchanges derived from the secrets: the value of an
 * Authorization-like header and its token after the scheme, and strings under
 * credential keys in bodies (a partner's session token, say), so they are hidden
 * wherever else they appear (a later request's body, a URL).
 */
function derivedSecrets(value: unknown, found: string[], underCredentialKey = false): void {
  if (typeof value === 'string') {
    if (!underCredentialKey || value.length < MIN_SECRET_PART) return
    found.push(value)
    const token = /^\S+\s+(\S.*)$/.exec(value)?.[1]
    if (token && token.length >= MIN_SECRET_PART) found.push(token)
  } else if (Array.isArray(value)) {
    for (const item of value) derivedSecrets(item, found, underCredentialKey)
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value))
      derivedSecrets(item, found, underCredentialKey || CREDENTIAL_KEY.test(key))
  }
}

/** Replaces every secret wherever it appears, and every credential key's value wholesale. */
function redactor(secrets: readonly string[]): (value: unknown) => unknown {
  const known = [...new Set(secrets.flatMap((secret) => [secret, encodeURIComponent(secret)]))]
    .filter((secret) => secret !== '')
    // Longest first, so a secret is never half-replaced through a shorter one inside it.
    .sort((a, b) => b.length - a.length)
  const text = (value: string) => known.reduce((result, secret) => result.replaceAll(secret, REDACTED), value)
  const redact = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value)
    if (Array.isArray(value)) return value.map(redact)
    if (!isPlainObject(value)) return value
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        text(key),
        CREDENTIAL_KEY.test(key) && item !== null && typeof item !== 'object' ? REDACTED : redact(item),
      ]),
    )
  }
  return redact
}

/** An exchange as the operator sees it, before redaction: the exact URL and headers that went out. */
function shownExchange(apiBase: string, exchange: PartnerExchange): TestExchange {
  const { url, headers } = resolvePartnerRequest(apiBase, exchange.request)
  return {
    method: exchange.request.method,
    url,
    headers: Object.fromEntries(headers),
    ...(exchange.request.body !== undefined && { body: exchange.request.body }),
    response: {
      status: exchange.response.status,
      ...(exchange.response.body !== undefined && { body: exchange.response.body }),
    },
    sent: exchange.sent,
  }
}

/** Hands the one event to the destination's `deliver`; a destination bug is a retry, as in real delivery. */
async function deliverOne(
  env: Bindings,
  target: DestinationTarget,
  event: SegmentEvent,
  clock: Clock,
  exchanges: PartnerExchange[],
): Promise<{ outcome: AttemptOutcome; apiBase: string }> {
  const context = createDeliveryContext(
    env,
    target.source.name,
    target.definition,
    target.config,
    subrequestBudget(env),
    clock,
    (exchange) => exchanges.push(exchange),
  )
  try {
    const [outcome] = await target.definition.deliver([{ event, attempt: 1 }], context)
    return {
      outcome: outcome ?? { status: 'retry', error: 'destination_returned_no_outcome' },
      apiBase: context.apiBase,
    }
  } catch (error) {
    logWarn({ msg: `destination threw: ${(error as Error).message}`, destination: target.destination })
    return { outcome: { status: 'retry', error: 'destination_error' }, apiBase: context.apiBase }
  }
}

/**
 * Routes `event` (already validated and normalised as ingest does) to the one
 * destination and, unless its rules drop it, delivers it; returns what happened
 * with every secret redacted, and appends one `destination.tested` audit entry.
 */
export async function testSend(
  env: Bindings,
  target: DestinationTarget,
  event: SegmentEvent,
  options: TestSendOptions,
): Promise<TestSendResult> {
  const [decision] = routeEvent(event, sourceForTest(target), [target.destination])
  const destination = {
    id: target.id,
    source: target.source.name,
    name: target.destination,
    enabled: target.config.enabled,
  }
  let result: TestSendResult
  const exchanges: PartnerExchange[] = []
  if (!decision || 'drop' in decision) {
    const drop = decision ?? { destination: target.destination, drop: 'unknown_destination' }
    result = {
      destination,
      routed: false,
      outcome: {
        status: 'dropped',
        reason: drop.drop,
        ...(drop.detail !== undefined && { detail: drop.detail }),
      },
      explanation: explainDrop(drop, event),
      event,
      exchanges: [],
    }
  } else {
    const { outcome, apiBase } = await deliverOne(env, target, decision.event, options.clock, exchanges)
    result = {
      destination,
      routed: true,
      outcome,
      explanation: explainOutcome(target.destination, outcome),
      event: decision.event,
      exchanges: exchanges.map((exchange) => shownExchange(apiBase, exchange)),
    }
  }
  const secrets = settingSecrets(target)
  for (const exchange of result.exchanges) derivedSecrets(exchange, secrets)
  const redacted = redactor(secrets)(result) as TestSendResult

  await recordAudit(env, {
    at: options.clock.now(),
    actor: options.actor,
    action: 'destination.tested',
    target: target.id,
    detail: `${options.input}: ${result.outcome.status}${auditReason(result.outcome)}`,
  })
  return redacted
}

/** The outcome's code for the audit list: a reason code or HTTP status, never partner text or event data. */
function auditReason(outcome: AttemptOutcome): string {
  if (outcome.status === 'dropped') return ` (${outcome.reason})`
  const status = outcome.partnerStatus
  return status === undefined ? '' : ` (HTTP ${status})`
}
