import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { DESTINATIONS } from '../../src/destinations/registry'
import { loginCookie } from '../dashboard/session'
import { sandboxDestinations } from '../helpers/destinations'
import { ADMIN_TOKEN, putConfig, routerFetch } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

/**
 * GET /admin/funnel and the funnel page under arbitrary query strings (as
 * test/admin/fuzz.test.ts does for the other admin routes): never a 5xx, and
 * never a 2xx for a query the rules refuse. The rules are restated here from
 * the README, independently of the code, as the oracle.
 */

const RUNS = { numRuns: 100 }
const HOUR = 3_600_000
const DAY = 24 * HOUR
const NAMES = DESTINATIONS.map((definition) => definition.name)
const RANGES: Record<string, number> = { '1h': HOUR, '6h': 6 * HOUR, '24h': DAY, '7d': 7 * DAY }

beforeAll(async () => {
  const destinations = sandboxDestinations(new SandboxTenant())
  await putConfig({
    sources: [{ name: 'fuzz', writeKey: 'wk_funnel_fuzz_1', destinations: { Crisp: destinations.Crisp } }],
  })
})

// ---------------------------------------------------------------- the rules (README, "Admin API")

/** A time as the README says the API takes it, or undefined when it is not one. */
function time(text: string): number | undefined {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  return text.length <= 200 && Number.isSafeInteger(value) && Math.abs(value) <= 8.64e15 ? value : undefined
}

/** Whether the funnel must take this query when the server's clock reads `now`. */
function acceptable(query: URLSearchParams, now: number): boolean {
  const given = (key: string) => {
    const value = query.get(key)
    return value === null || value === '' ? undefined : value
  }
  const [destination, source, sinceText, untilText, range] = [
    'destination',
    'source',
    'since',
    'until',
    'range',
  ].map(given)
  if (destination !== undefined && !NAMES.includes(destination)) return false
  if (source !== undefined && source.length > 200) return false
  if (range !== undefined && !Object.hasOwn(RANGES, range)) return false
  if (sinceText !== undefined && range !== undefined) return false
  const since = sinceText === undefined ? undefined : time(sinceText)
  const until = untilText === undefined ? now : time(untilText)
  if ((sinceText !== undefined && since === undefined) || until === undefined) return false
  const start = since ?? until - (RANGES[range ?? '24h'] as number)
  return start < until && until - start <= 31 * DAY
}

// ---------------------------------------------------------------- generators

/** Values that depend on the time of the request: a function of now. */
type Value = (now: number) => string
const fixed = (arbitrary: fc.Arbitrary<string>) =>
  arbitrary.map(
    (text): Value =>
      () =>
        text,
  )

const timeValue = fc.oneof(
  fc.integer({ min: -40 * DAY, max: 2 * DAY }).map(
    (offset): Value =>
      (now) =>
        String(now + offset),
  ),
  fc.integer({ min: -40 * DAY, max: 2 * DAY }).map(
    (offset): Value =>
      (now) =>
        new Date(now + offset).toISOString(),
  ),
  fixed(
    fc.constantFrom('', '0', '-1', '1e308', 'NaN', '99999999999999999999', '2024-01-01', 'tomorrow', '%zz'),
  ),
  fixed(fc.string({ maxLength: 20 })),
)
const params = {
  destination: fixed(
    fc.oneof(
      fc.constantFrom(...NAMES, '', 'crisp', 'Nope', '__proto__', 'constructor'),
      fc.string({ maxLength: 20 }),
    ),
  ),
  source: fixed(
    fc.oneof(fc.constantFrom('fuzz', '', 'other'), fc.string({ minLength: 190, maxLength: 260 })),
  ),
  since: timeValue,
  until: timeValue,
  range: fixed(
    fc.oneof(
      fc.constantFrom('1h', '6h', '24h', '7d', '', '2h', '1H', 'toString'),
      fc.string({ maxLength: 5 }),
    ),
  ),
}
/** Each known parameter at most once, plus an unknown one now and then. */
const structured = fc.record({ ...params, extra: fixed(fc.string({ maxLength: 10 })) }, { requiredKeys: [] })
/** Raw query text: stray `%`, `&`, `=`, `+`, and repeated keys. */
const raw = fc.oneof(
  fc.string({
    unit: fc.constantFrom('%', '&', '=', '+', 'a', '0', 'é', 's', 'i', 'n', 'c', 'e'),
    maxLength: 30,
  }),
  fc
    .array(
      fc.tuple(fc.constantFrom('since', 'until', 'range', 'destination'), fc.string({ maxLength: 12 })),
      {
        maxLength: 4,
      },
    )
    .map((pairs) => new URLSearchParams(pairs).toString()),
)

// ---------------------------------------------------------------- properties

let cookie = ''
beforeAll(async () => {
  cookie = await loginCookie()
})

const ROUTES = {
  api: { path: '/admin/funnel', headers: () => ({ Authorization: `Bearer ${ADMIN_TOKEN}` }) },
  page: { path: '/admin/delivery-funnel', headers: () => ({ Cookie: cookie }) },
} as const

async function statusOf(route: keyof typeof ROUTES, query: string): Promise<number> {
  const response = await routerFetch(`${ROUTES[route].path}?${query}`, { headers: ROUTES[route].headers() })
  const body = await response.text()
  expect(response.status, body.slice(0, 300)).toBeLessThan(500)
  return response.status
}

describe('the funnel, any query string', () => {
  it.each(Object.keys(ROUTES) as (keyof typeof ROUTES)[])(
    '%s: 200 for every query the rules take, 400 for every one they refuse',
    async (route) => {
      const seen = new Set<number>()
      await fc.assert(
        fc.asyncProperty(structured, async (values) => {
          const before = Date.now()
          const query = new URLSearchParams(
            Object.entries(values).map(([key, value]) => [key === 'extra' ? 'x' : key, value(before)]),
          )
          const status = await statusOf(route, query.toString())
          const after = Date.now()
          seen.add(status)
          // The server's clock read somewhere in [before, after]: only a query on the edge may go either way.
          const atBefore = acceptable(query, before)
          const atAfter = acceptable(query, after)
          if (atBefore && atAfter) expect(status).toBe(200)
          else if (!atBefore && !atAfter) expect(status).toBe(400)
        }),
        // The empty query (every default) always runs, so a run of only refusals cannot happen by chance.
        { ...RUNS, examples: [[{}]] },
      )
      expect(seen).toContain(200)
      expect(seen).toContain(400)
    },
  )

  it.each(Object.keys(ROUTES) as (keyof typeof ROUTES)[])(
    '%s: never a 5xx, never a 2xx the rules refuse, for raw query text',
    async (route) => {
      await fc.assert(
        fc.asyncProperty(raw, async (query) => {
          const before = Date.now()
          const status = await statusOf(route, query)
          if (status < 300) {
            const parsed = new URLSearchParams(query)
            expect(acceptable(parsed, before) || acceptable(parsed, Date.now())).toBe(true)
          }
        }),
        RUNS,
      )
    },
  )
})
