import * as v from 'valibot'
import { exactObject, isPlainObject } from '../lib/objects'
import { wholeNumber } from '../lib/whole-number'

/**
 * The `alerts` object of the config document (README "Alerts"): where
 * notifications go, which rules raise incidents, and the anti-storm knobs.
 * Objects are exact: a misspelt `threshhold` silently falling back to its
 * default would page nobody.
 */

const TargetUrl = v.pipe(
  v.string('url is required'),
  v.url('url must be a URL'),
  v.check((url) => /^https?:\/\//i.test(url), 'url must be http or https'),
)

const TargetName = v.pipe(
  v.string('name must be a string'),
  v.regex(/^[A-Za-z0-9_. -]{1,64}$/, 'name must be 1-64 letters, digits, spaces, _, . or -'),
)

const WebhookTarget = exactObject(
  {
    kind: v.literal('webhook'),
    name: v.optional(TargetName),
    url: TargetUrl,
    /** Signs each body (HMAC-SHA256); a receiver refuses what it cannot verify. */
    secret: v.pipe(v.string('secret is required'), v.minLength(16, 'secret must be at least 16 characters')),
  },
  'a target must be a JSON object',
)

const SlackTarget = exactObject(
  { kind: v.literal('slack'), name: v.optional(TargetName), url: TargetUrl },
  'a target must be a JSON object',
)

const TargetSchema = v.pipe(
  v.custom<Record<string, unknown>>(isPlainObject, 'a target must be a JSON object'),
  v.check(
    (target) => target.kind === 'webhook' || target.kind === 'slack',
    'kind must be "webhook" or "slack"',
  ),
  // Picked by kind, so an issue names the field of that kind that is wrong (a union would only say "kind").
  v.lazy((target) => ((target as { kind: unknown }).kind === 'slack' ? SlackTarget : WebhookTarget)),
)

const enabled = v.optional(v.boolean('enabled must be a boolean'), true)
// The ledger counts in 5-minute buckets: a shorter window would still read 5 minutes.
const minutes = (fallback: number) => v.optional(wholeNumber('windowMinutes', 5, 1440), fallback)

const RulesSchema = exactObject(
  {
    failureRate: v.optional(
      exactObject(
        {
          enabled,
          threshold: v.optional(
            v.pipe(
              v.number('threshold must be a number'),
              v.minValue(0, 'threshold must be between 0 and 1'),
              v.maxValue(1, 'threshold must be between 0 and 1'),
            ),
            0.5,
          ),
          windowMinutes: minutes(15),
          /** Fewer outcomes than this in the window decide nothing: one failure is not 100 %. */
          minAttempts: v.optional(wholeNumber('minAttempts', 1, 1_000_000), 20),
        },
        'failureRate must be a JSON object',
      ),
      {},
    ),
    pairFailed: v.optional(
      exactObject({ enabled, windowMinutes: minutes(15) }, 'pairFailed must be a JSON object'),
      {},
    ),
    autoPause: v.optional(exactObject({ enabled }, 'autoPause must be a JSON object'), {}),
    capacity: v.optional(exactObject({ enabled }, 'capacity must be a JSON object'), {}),
  },
  'rules must be a JSON object',
)

export const AlertsSchema = v.pipe(
  exactObject(
    {
      targets: v.optional(
        v.pipe(v.array(TargetSchema, 'targets must be an array'), v.maxLength(10, 'at most 10 targets')),
        [],
      ),
      rules: v.optional(RulesSchema, {}),
      /** A recovery is sent once the incident has stayed clear this long; a relapse before is the same incident. */
      quietMinutes: v.optional(wholeNumber('quietMinutes', 0, 1440), 10),
      /** Notifications sent per minute at most; more are folded into one summary. */
      maxPerMinute: v.optional(wholeNumber('maxPerMinute', 1, 100), 10),
    },
    'alerts must be a JSON object',
  ),
  v.forward(
    v.check(
      (alerts) => uniqueTargetNames(alerts.targets),
      'target names must be unique (a redacted secret is kept by name)',
    ),
    ['targets'],
  ),
)

export type AlertsConfig = v.InferOutput<typeof AlertsSchema>
export type AlertTarget = AlertsConfig['targets'][number]
export type AlertRules = AlertsConfig['rules']

function uniqueTargetNames(targets: readonly { name?: string }[]): boolean {
  const names = targets.flatMap((target) => (target.name === undefined ? [] : [target.name]))
  return new Set(names).size === names.length
}

/** How a target is named in history, logs and the dashboard: never its URL (a Slack URL is a secret). */
export function targetLabel(target: Pick<AlertTarget, 'kind' | 'name'>, index: number): string {
  return target.name ?? `${target.kind} #${index + 1}`
}
