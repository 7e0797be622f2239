import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { SANDBOX_CREDENTIALS as creds } from '../../sandbox/credentials'
import worker from '../../src/index'
import { isPlainObject } from '../../src/lib/objects'
import { SAMPLE_NAMES } from '../../src/segment/samples'
import { loginCookie } from '../dashboard/session'
import { sandboxDestinations } from '../helpers/destinations'
import { ADMIN_TOKEN, ORIGIN, putConfig } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

/**
 * The test console under arbitrary input (modelled on fuzz.test.ts): any body at
 * `POST /admin/destinations/:id/test`, any id, any form at the dashboard's send.
 * Whatever comes in: never a 5xx, never a 2xx for what the Spec refuses, nothing
 * sent to a partner for a refused request, and never a secret in an answer.
 */

const RUNS = { numRuns: 100 }
const TIMEOUT = 120_000

const tenant = new SandboxTenant()
const destinations = sandboxDestinations(tenant)
const FUZZ_SOURCE = {
  name: 'fuzz-console',
  writeKey: 'wk_fuzz_console_1',
  destinations: { CrowdPower: destinations.CrowdPower, Calixa: destinations.Calixa },
}
const IDS = ['fuzz-console:CrowdPower', 'fuzz-console:Calixa'] as const
const SECRETS = [creds.crowdPower.publicKey, creds.calixa.apiKey, btoa(`${creds.calixa.apiKey}:`)]
const CALL_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const

let cookie: string
beforeAll(async () => {
  await putConfig({ sources: [FUZZ_SOURCE] })
  cookie = await loginCookie()
})

// ---------------------------------------------------------------- generators

const text = fc.string({ unit: 'binary', maxLength: 30 })
const anyJson = fc.jsonValue({ maxDepth: 4 })
const objectLike = fc.oneof(fc.dictionary(text, anyJson, { maxKeys: 4 }), anyJson)

/** Events as a client may paste them: the Spec's fields with right, wrong and missing values. */
const eventLike = fc.record(
  {
    type: fc.oneof(
      { arbitrary: fc.constantFrom(...CALL_TYPES), weight: 4 },
      fc.constant('teleport'),
      anyJson,
    ),
    userId: fc.oneof(fc.constantFrom('u-fuzz', ''), fc.integer(), fc.constant(null), anyJson),
    anonymousId: fc.oneof(fc.constantFrom('anon-fuzz', ''), anyJson),
    event: fc.oneof(fc.constantFrom('Signed Up', 'Account Created', 'Order Completed', ''), anyJson),
    name: fc.oneof(text, anyJson),
    groupId: fc.oneof(fc.constantFrom('acct_1', ''), anyJson),
    previousId: fc.oneof(fc.constant('anon-old'), anyJson),
    traits: objectLike,
    properties: objectLike,
    context: fc.oneof(
      fc.record({ groupId: fc.constant('acct_1'), consent: objectLike }, { requiredKeys: [] }),
      objectLike,
    ),
    integrations: fc.oneof(
      fc.dictionary(fc.constantFrom('All', 'CrowdPower', 'Calixa'), fc.oneof(fc.boolean(), anyJson)),
      anyJson,
    ),
    messageId: fc.oneof(fc.string({ maxLength: 120 }), anyJson),
    timestamp: fc.oneof(fc.constantFrom('2024-05-01T10:00:00.000Z', '2024-05-01', 'yesterday'), anyJson),
    sentAt: fc.oneof(fc.constant('2024-05-01T10:00:01.000Z'), anyJson),
  },
  { requiredKeys: [] },
)

const testBodyLike = fc.record(
  {
    sample: fc.oneof(
      { arbitrary: fc.constantFrom(...SAMPLE_NAMES), weight: 3 },
      fc.constant('nope'),
      anyJson,
    ),
    event: fc.oneof({ arbitrary: eventLike, weight: 4 }, anyJson),
    extra: anyJson,
  },
  { requiredKeys: [] },
)

/** What a body may be: shaped like the route expects, any JSON, or not JSON at all. */
const body = fc.oneof(
  { arbitrary: testBodyLike.map((value) => JSON.stringify(value)), weight: 6 },
  anyJson.map((value) => JSON.stringify(value) ?? 'null'),
  fc.string({ maxLength: 60 }),
  fc.constant(''),
)

/** Ids: the configured ones, near misses, and anything, raw or encoded. */
const idLike = fc.oneof(
  fc.constantFrom(...IDS, 'fuzz-console:Crisp', 'fuzz-console:', ':Calixa', 'Calixa', 'nosuch:Calixa'),
  fc.constantFrom(
    'fuzz-console:__proto__',
    'fuzz-console:constructor',
    'fuzz-console:Crow%dPower',
    '%',
    '%zz',
  ),
  text,
  fc.tuple(text, text).map(([source, destination]) => `${source}:${destination}`),
)

// ---------------------------------------------------------------- helpers

function parsed(json: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(json) }
  } catch {
    return { ok: false }
  }
}

/** A value the schema's `userId`/`anonymousId` takes as naming someone: a non-empty string or a number. */
function names(value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || typeof value === 'number'
}

/**
 * What must be refused whatever else holds, judged from the Spec (segment-wire.md
 * §1.1, §1.5) and the route's documented body, not from the router's code.
 */
function mustRefuse(json: string): boolean {
  const document = parsed(json)
  if (!document.ok || !isPlainObject(document.value)) return true
  const value = document.value
  if (Object.keys(value).some((key) => key !== 'sample' && key !== 'event')) return true
  if ('sample' in value === 'event' in value) return true
  if ('sample' in value) return !(SAMPLE_NAMES as unknown[]).includes(value.sample)
  const event = value.event
  if (!isPlainObject(event)) return true
  if (!(CALL_TYPES as readonly unknown[]).includes(event.type)) return true
  if (!names(event.userId) && !names(event.anonymousId)) return true
  if (event.type === 'track' && (typeof event.event !== 'string' || event.event === '')) return true
  return event.type === 'group' && !names(event.groupId)
}

/** The Worker's fetch handler in this isolate, as fuzz.test.ts calls it (fast over many runs). */
async function workerFetch(path: string, init: RequestInit): Promise<Response> {
  return worker.fetch(new Request(`${ORIGIN}${path}`, init), env, createExecutionContext())
}

/** Partner requests `run` caused, counted at the tenant (every request it received, accepted or not). */
async function sentDuring<T>(run: () => Promise<T>): Promise<{ result: T; sent: number }> {
  const before = (await tenant.requests()).length
  const result = await run()
  return { result, sent: (await tenant.requests()).length - before }
}

/** Status and text, failing the property with the body on a 5xx or on a secret in it. */
async function checked(response: Response): Promise<{ status: number; text: string }> {
  const text = await response.text()
  expect(response.status, text.slice(0, 300)).toBeLessThan(500)
  for (const secret of SECRETS) expect(text).not.toContain(secret)
  return { status: response.status, text }
}

// ---------------------------------------------------------------- properties

describe('POST /admin/destinations/:id/test, any body', () => {
  it(
    'never a 5xx or a secret, a 4xx for what the Spec refuses, and nothing sent when refused',
    async () => {
      const statuses = new Set<number>()
      let sentInAll = 0
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...IDS), body, async (id, json) => {
          const { result, sent } = await sentDuring(async () =>
            checked(
              await workerFetch(`/admin/destinations/${encodeURIComponent(id)}/test`, {
                method: 'POST',
                headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
                body: json,
              }),
            ),
          )
          statuses.add(result.status)
          sentInAll += sent
          if (mustRefuse(json)) expect(result.status, json).toBeGreaterThanOrEqual(400)
          if (result.status >= 400) expect(sent, json).toBe(0)
          else expect(JSON.parse(result.text)).toMatchObject({ success: true, destination: { id } })
        }),
        {
          ...RUNS,
          // Always both sides of validation, whatever the seed.
          examples: [
            [IDS[0], '{"sample":"page"}'],
            [IDS[1], '{"event":{"type":"group","userId":"u1","groupId":"acct_1"}}'],
            [IDS[0], '{"event":{"type":"track","userId":"u1"}}'],
            [IDS[0], '{"event":[]}'],
          ],
        },
      )
      expect(statuses).toContain(200)
      expect(statuses).toContain(400)
      // The accepted side reached the partners (the examples' sample and group at least).
      expect(sentInAll).toBeGreaterThan(0)
    },
    TIMEOUT,
  )
})

describe('any destination id', () => {
  it(
    'never a 5xx; a 4xx and nothing sent for every id that names no configured destination',
    async () => {
      await fc.assert(
        fc.asyncProperty(idLike, fc.boolean(), async (id, encode) => {
          const segment = encode ? encodeURIComponent(id) : id
          // An id with a slash or a `?` is another path: it must still not 5xx or send.
          const { result, sent } = await sentDuring(async () =>
            checked(
              await workerFetch(`/admin/destinations/${segment}/test`, {
                method: 'POST',
                headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
                body: '{"sample":"identify"}',
              }),
            ),
          )
          const configured = (IDS as readonly string[]).includes(id)
          if (!configured) {
            expect(result.status, id).toBeGreaterThanOrEqual(400)
            expect(sent, id).toBe(0)
          }
        }),
        RUNS,
      )
    },
    TIMEOUT,
  )
})

describe("the dashboard's send", () => {
  const formBody = fc.oneof(
    fc
      .record(
        {
          sample: fc.oneof(fc.constantFrom(...SAMPLE_NAMES, '', 'nope'), text),
          event: fc.oneof(
            eventLike.map((value) => JSON.stringify(value)),
            anyJson.map((value) => JSON.stringify(value) ?? ''),
            text,
          ),
          other: text,
        },
        { requiredKeys: [] },
      )
      .map((fields) => new URLSearchParams(fields).toString()),
    fc.string({ maxLength: 80 }),
  )
  const contentType = fc.constantFrom(
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'application/json',
    'text/plain',
  )

  it(
    'never a 5xx or a secret, and nothing sent for a form it refuses',
    async () => {
      const statuses = new Set<number>()
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...IDS), formBody, contentType, async (id, form, type) => {
          const { result, sent } = await sentDuring(async () =>
            checked(
              await workerFetch(`/admin/destinations/${encodeURIComponent(id)}/test/send`, {
                method: 'POST',
                headers: { Cookie: cookie, Origin: ORIGIN, 'Content-Type': type },
                body: form,
              }),
            ),
          )
          statuses.add(result.status)
          if (result.status >= 400) expect(sent, form).toBe(0)
          const fields = new URLSearchParams(form)
          const sample = fields.get('sample')
          // Urlencoded with a sample that is not one: refused, whatever the pasted text says.
          if (
            type === 'application/x-www-form-urlencoded' &&
            sample &&
            !(SAMPLE_NAMES as string[]).includes(sample)
          )
            expect(result.status, form).toBe(400)
        }),
        {
          ...RUNS,
          examples: [
            [IDS[0], 'sample=page', 'application/x-www-form-urlencoded'],
            // Calixa's Basic header is the key in base64: only the header's redaction hides it.
            [IDS[1], 'sample=group', 'application/x-www-form-urlencoded'],
          ],
        },
      )
      expect(statuses).toContain(200)
      expect(statuses).toContain(400)
    },
    TIMEOUT,
  )
})
