import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { isPlainObject } from '../../src/lib/objects'
import { ADMIN_TOKEN, ORIGIN, putConfig, WEB } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'
import { alertsFor } from '../operations/alert-helpers'

/**
 * Bad input to the alerts side of the admin API, in the manner of fuzz.test.ts:
 * any query at GET /admin/alerts, any `alerts` object in a PUT of the config.
 * Never a 5xx, never a 2xx for what the schema refuses, and a refused request
 * changes nothing.
 */

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }
const RUNS = { numRuns: 100 }
const REDACTED = '<redacted>'
const tenant = new SandboxTenant()
const BASELINE = { sources: [WEB], alerts: alertsFor(tenant) }

async function adminFetch(method: string, path: string, body?: string): Promise<Response> {
  const init: RequestInit = { method, headers: admin, ...(body !== undefined && { body }) }
  return worker.fetch(new Request(`${ORIGIN}${path}`, init), env, createExecutionContext())
}

async function statusBelow500(response: Response): Promise<number> {
  const body = await response.text()
  expect(response.status, body.slice(0, 300)).toBeLessThan(500)
  return response.status
}

const anyJson = fc.jsonValue({ maxDepth: 3 })
const text = fc.string({ unit: 'binary', maxLength: 20 })

const limitValue = fc.oneof(
  fc.integer({ min: -5, max: 300 }).map(String),
  fc.constantFrom('', '1e2', '0x10', ' 5', '5 ', '05', '1.0', 'NaN', '%', '%zz', '99999'),
  text,
)
const alertsQuery = fc
  .array(fc.tuple(fc.oneof(fc.constant('limit'), text), limitValue), { maxLength: 3 })
  .map((pairs) => new URLSearchParams(pairs).toString())

const secretLike = fc.oneof(fc.constantFrom(REDACTED, 'a-long-enough-secret-123', 'short'), anyJson)
const urlLike = fc.oneof(
  fc.constantFrom(
    REDACTED,
    tenant.alertUrl('/ops'),
    'https://hooks.example/x',
    'ftp://x.example',
    'not a url',
  ),
  anyJson,
)
const targetLike = fc.oneof(
  fc.record(
    {
      kind: fc.oneof(fc.constantFrom('webhook', 'slack', 'pager'), anyJson),
      name: fc.oneof(fc.constantFrom('ops', 'chat', 'bad/name'), anyJson),
      url: urlLike,
      secret: secretLike,
      extra: anyJson,
    },
    { requiredKeys: [] },
  ),
  anyJson,
)
const ruleLike = fc.oneof(
  fc.record(
    {
      enabled: fc.oneof(fc.boolean(), anyJson),
      threshold: fc.oneof(fc.double({ min: -1, max: 2, noNaN: true }), anyJson),
      windowMinutes: fc.oneof(fc.integer({ min: -1, max: 2_000 }), anyJson),
      minAttempts: fc.oneof(fc.integer({ min: -1, max: 100 }), anyJson),
    },
    { requiredKeys: [] },
  ),
  anyJson,
)
const alertsLike = fc.oneof(
  {
    arbitrary: fc.record(
      {
        targets: fc.oneof(fc.array(targetLike, { maxLength: 3 }), anyJson),
        rules: fc.oneof(
          fc.record(
            { failureRate: ruleLike, pairFailed: ruleLike, autoPause: ruleLike, capacity: ruleLike },
            { requiredKeys: [] },
          ),
          anyJson,
        ),
        quietMinutes: fc.oneof(fc.integer({ min: -2, max: 2_000 }), anyJson),
        maxPerMinute: fc.oneof(fc.integer({ min: -2, max: 200 }), anyJson),
      },
      { requiredKeys: [] },
    ),
    weight: 4,
  },
  anyJson,
)

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsOf)
  if (isPlainObject(value)) return Object.values(value).flatMap(stringsOf)
  return []
}

/** What any stored `alerts` must be, checked without the router's schema. */
function usableAlerts(alerts: unknown): boolean {
  if (alerts === undefined) return true
  if (!isPlainObject(alerts)) return false
  const targets = alerts.targets ?? []
  if (!Array.isArray(targets)) return false
  const targetsOk = targets.every(
    (target) =>
      isPlainObject(target) &&
      (target.kind === 'webhook' || target.kind === 'slack') &&
      typeof target.url === 'string' &&
      /^https?:\/\//.test(target.url) &&
      (target.kind === 'slack' || (typeof target.secret === 'string' && target.secret.length >= 16)),
  )
  const rules = isPlainObject(alerts.rules) ? alerts.rules : {}
  const failureRate = isPlainObject(rules.failureRate) ? rules.failureRate : {}
  const threshold = failureRate.threshold ?? 0.5
  return targetsOk && typeof threshold === 'number' && threshold >= 0 && threshold <= 1
}

describe('GET /admin/alerts', () => {
  it('answers any query without a 5xx, and 2xx only for a limit from 1 to 200', async () => {
    await putConfig(BASELINE)
    const before = await env.CONFIG.get('config:v1')
    await fc.assert(
      fc.asyncProperty(alertsQuery, async (query) => {
        const status = await statusBelow500(await adminFetch('GET', `/admin/alerts?${query}`))
        const limits = new URLSearchParams(query).getAll('limit')
        if (status < 300)
          expect(
            limits.length === 0 ||
              limits.some((limit) => /^\d+$/.test(limit) && +limit >= 1 && +limit <= 200),
          ).toBe(true)
        if (limits.length === 0) expect(status).toBe(200)
      }),
      RUNS,
    )
    expect(await env.CONFIG.get('config:v1')).toBe(before)
  })
})

describe('PUT /admin/config with an alerts object', () => {
  it('stores nothing it refuses, and nothing it should refuse', async () => {
    const statuses = new Set<number>()
    await fc.assert(
      fc.asyncProperty(alertsLike, async (alerts) => {
        await putConfig(BASELINE)
        const before = await env.CONFIG.get('config:v1')
        const status = await statusBelow500(
          await adminFetch('PUT', '/admin/config', JSON.stringify({ sources: [WEB], alerts })),
        )
        statuses.add(status)
        const stored: unknown = JSON.parse((await env.CONFIG.get('config:v1')) ?? 'null')
        if (status >= 400) {
          expect(await env.CONFIG.get('config:v1')).toBe(before)
          return
        }
        expect(isPlainObject(stored) && usableAlerts(stored.alerts)).toBe(true)
        expect(stringsOf(stored)).not.toContain(REDACTED)
      }),
      {
        ...RUNS,
        examples: [
          [BASELINE.alerts],
          [{ targets: [{ kind: 'slack', name: 'new', url: REDACTED }] }],
          [{ targets: [{ kind: 'webhook', url: 'https://x.example', secret: 'short' }] }],
          [[]],
        ],
      },
    )
    expect(statuses).toContain(200)
    expect(statuses).toContain(400)
  })
})
