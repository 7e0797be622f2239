import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { isPlainObject } from '../../src/lib/objects'
import { sandboxDestinations } from '../helpers/destinations'
import { ADMIN_TOKEN, basicAuth, ORIGIN, putConfig, routerFetch, spyOnQueue } from '../helpers/router'
import { SandboxTenant } from '../helpers/sandbox'

/**
 * Bad input on the admin side (issue 18): arbitrary JSON, query strings,
 * cursors and forms at every admin route, with a valid admin token. Whatever
 * comes in: never a 5xx, never a 2xx for what the schema must refuse, and a
 * refused request changes nothing (the config stays, no replay is queued).
 */

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` }
const RUNS = { numRuns: 100 }

/**
 * A source whose CrowdPower deliveries fail for good (the sandbox answers 400),
 * so there are failed pairs a wrongly accepted replay would re-queue.
 */
const tenant = new SandboxTenant()
const FUZZ_SOURCE = {
  name: 'fuzz',
  writeKey: 'wk_fuzz_admin_1',
  webhookSecret: 'whsec_fuzz_admin',
  destinations: { CrowdPower: sandboxDestinations(tenant).CrowdPower },
}
const BASELINE = { sources: [FUZZ_SOURCE] }

async function failedPairs(): Promise<number> {
  const response = await routerFetch('/admin/deliveries?source=fuzz&status=failed', { headers: admin })
  return ((await response.json()) as { deliveries: unknown[] }).deliveries.length
}

beforeAll(async () => {
  await putConfig(BASELINE)
  await tenant.fault('crowdpower', { status: 400, body: { success: false, code: 400 } })
  for (const userId of ['u1', 'u2', 'u3']) {
    const response = await routerFetch('/v1/track', {
      method: 'POST',
      headers: { Authorization: basicAuth(FUZZ_SOURCE.writeKey) },
      body: JSON.stringify({ userId, event: 'Fuzz Seed' }),
    })
    expect(response.status).toBe(200)
  }
  const deadline = Date.now() + 20_000
  while ((await failedPairs()) < 3) {
    if (Date.now() > deadline) throw new Error('the seeded deliveries did not fail within 20 s')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}, 30_000)

afterEach(() => {
  vi.restoreAllMocks()
})

// ---------------------------------------------------------------- generators

const text = fc.string({ unit: 'binary', maxLength: 30 })
const anyJson = fc.jsonValue({ maxDepth: 4 })

/**
 * Arrays nested around the config's 32-level bound and far past it, as a marker
 * that `jsonText` expands: fast-check would overflow the stack printing or
 * shrinking a value 10,000 levels deep.
 */
const nestedArrays = fc
  .oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(1_000, 10_000))
  .map((depth) => `NEST${depth}NEST`)

const RESERVED = ['__proto__', 'constructor', 'prototype'] as const
const REDACTED = '<redacted>'

/** Query strings as a client may send them: known parameters with odd values, unknown ones, broken escapes. */
const PARAMS = ['source', 'messageId', 'userId', 'destination', 'status', 'reason', 'since', 'until'].concat([
  'limit',
  'cursor',
  'window',
  'q',
  'replay',
  '__proto__',
  'constructor',
])
const paramValue = fc.oneof(
  text,
  fc.constantFrom('', 'failed', 'delivered', '0', '-1', '1e308', 'NaN', '2024-01-01', '501', '%', '%zz'),
  fc.string({ minLength: 3_000, maxLength: 4_000 }),
)
const queryString = fc.oneof(
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), text), paramValue), { maxLength: 5 })
    .map((pairs) => new URLSearchParams(pairs).toString()),
  // Raw, unencoded: stray `%`, `&`, `=`, brackets.
  fc.string({ unit: fc.constantFrom('%', '&', '=', '+', '[', ']', 'a', '0', 'f', 'é'), maxLength: 30 }),
)

/** Cursors: the shape the API hands out with every field of any JSON type, and plain garbage. */
const cursorFields = fc.record(
  {
    recordedUs: fc.oneof(fc.double(), fc.integer(), anyJson),
    source: fc.oneof(fc.constant('fuzz'), anyJson),
    messageId: anyJson,
    destination: anyJson,
  },
  { requiredKeys: [] },
)
const cursor = fc.oneof(
  fc.oneof(cursorFields, anyJson).map((value) => btoa(encodeURIComponent(JSON.stringify(value)))),
  text,
  fc.base64String({ maxLength: 200 }),
)

const secretValue = fc.oneof(
  { arbitrary: fc.constantFrom(REDACTED, 'wk_new_source_key', 'pk_new_project_key'), weight: 3 },
  anyJson,
)
const destinationName = fc.constantFrom('Crisp', 'Crossing Minds', 'CrowdPower', 'Calixa', 'Mailchimp')
const settingsLike = fc.oneof(
  {
    arbitrary: fc.record(
      {
        apiKey: secretValue,
        apiPassword: secretValue,
        websiteId: fc.oneof(fc.constant('site-1'), anyJson),
        apiDatabaseId: fc.oneof(fc.constant('db-1'), anyJson),
        endpoint: fc.oneof(fc.constantFrom('https://calixa.example/hook', 'not a url'), anyJson),
        apiBase: fc.oneof(fc.constant(tenant.apiBase('crowdpower')), anyJson),
        enabled: anyJson,
        nested: nestedArrays,
      },
      { requiredKeys: [] },
    ),
    weight: 4,
  },
  anyJson,
)
const sourceLike = fc.record(
  {
    name: fc.oneof(fc.constantFrom('fuzz', 'web', 'bad name!', ...RESERVED), anyJson),
    writeKey: fc.oneof(fc.constant(FUZZ_SOURCE.writeKey), secretValue),
    webhookSecret: secretValue,
    allowUnsigned: anyJson,
    destinations: fc.oneof(
      { arbitrary: fc.dictionary(destinationName, settingsLike, { maxKeys: 3 }), weight: 4 },
      anyJson,
    ),
  },
  { requiredKeys: [] },
)
const configLike = fc.record(
  { sources: fc.oneof({ arbitrary: fc.array(sourceLike, { maxLength: 3 }), weight: 4 }, anyJson) },
  { requiredKeys: [] },
)

/**
 * JSON text of any value; an object may get a reserved key spliced in at its
 * first `{` (JS objects cannot be relied on to carry `__proto__` as a key).
 */
function jsonText(value: fc.Arbitrary<unknown>) {
  return fc
    .tuple(value, fc.option(fc.tuple(fc.constantFrom(...RESERVED), anyJson), { nil: undefined }))
    .map(([body, reserved]) => {
      const json = (JSON.stringify(body) ?? 'null').replace(
        /"NEST(\d+)NEST"/g,
        (_, depth: string) => `${'['.repeat(Number(depth))}${']'.repeat(Number(depth))}`,
      )
      if (!reserved || !json.startsWith('{')) return json
      const member = `${JSON.stringify(reserved[0])}:${JSON.stringify(reserved[1])}`
      return json === '{}' ? `{${member}}` : `{${member},${json.slice(1)}`
    })
}

/** What a body may be: JSON shaped like the route expects, any JSON, or not JSON at all. */
function bodyFor(shaped: fc.Arbitrary<unknown>) {
  return fc.oneof(
    { arbitrary: jsonText(shaped), weight: 4 },
    jsonText(anyJson),
    fc.string({ maxLength: 60 }),
    fc.constant(''),
  )
}

const keyLike = fc.record(
  {
    source: fc.oneof(fc.constant('fuzz'), anyJson),
    messageId: anyJson,
    destination: fc.oneof(destinationName, anyJson),
  },
  { requiredKeys: [] },
)
const replayLike = fc.record(
  {
    deliveries: fc.oneof(fc.array(keyLike, { maxLength: 3 }), anyJson),
    // Non-objects first among the filters: `[]` widened to "all" (issue 18 item 1).
    filter: fc.oneof(
      fc.constantFrom([], [{}], '', 0, null, true),
      fc.record(
        {
          source: anyJson,
          status: fc.oneof(fc.constantFrom('failed', 'dropped', 'delivered'), anyJson),
          since: anyJson,
          until: anyJson,
        },
        { requiredKeys: [] },
      ),
      anyJson,
    ),
    limit: fc.oneof(fc.integer({ min: -5, max: 2_000 }), anyJson),
  },
  { requiredKeys: [] },
)

const formBody = fc.oneof(
  fc
    .dictionary(fc.oneof(fc.constantFrom('source', 'messageId', 'destination', 'token'), text), text, {
      maxKeys: 4,
    })
    .map((fields) => new URLSearchParams(fields).toString()),
  fc.string({ maxLength: 80 }),
)
const formContentType = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'multipart/form-data',
  'application/json',
  'text/plain',
)

// ---------------------------------------------------------------- helpers

function parsed(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

/** Every key of a JSON value, at any depth. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf)
  if (!isPlainObject(value)) return []
  return Object.entries(value).flatMap(([key, item]) => [key, ...keysOf(item)])
}

/** Every string of a JSON value, at any depth. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsOf)
  if (isPlainObject(value)) return Object.values(value).flatMap(stringsOf)
  return []
}

/**
 * The Worker's own fetch handler, called in this isolate as the queue tests call
 * its queue handler: a thousand requests through `exports.default.fetch` get
 * slower one after another (the whole file took minutes), this way they do not.
 */
async function workerFetch(path: string, init: RequestInit): Promise<Response> {
  return worker.fetch(new Request(`${ORIGIN}${path}`, init), env, createExecutionContext())
}

async function adminFetch(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return workerFetch(path, { method, ...init, headers: { ...admin, ...(init.headers ?? {}) } })
}

/** Queue calls made by `run`: a spy on DELIVERY_QUEUE for the whole test, counted around each run. */
function queueCallsDuring(queue: ReturnType<typeof spyOnQueue>) {
  return async <T>(run: () => Promise<T>): Promise<{ result: T; calls: number }> => {
    const before = queue.requests().length
    const result = await run()
    return { result, calls: queue.requests().length - before }
  }
}

/** The status, failing the property with the body when it is a 5xx. */
async function statusBelow500(response: Response): Promise<number> {
  const body = await response.text()
  expect(response.status, body.slice(0, 300)).toBeLessThan(500)
  return response.status
}

async function storedConfig(): Promise<{ kv: string | null; shown: string }> {
  const shown = await (await adminFetch('GET', '/admin/config')).text()
  return { kv: await env.CONFIG.get('config:v1'), shown }
}

// ---------------------------------------------------------------- properties

describe('every admin route, any query string and body', () => {
  const ROUTES = [
    ['GET', '/admin/config'],
    ['PUT', '/admin/config'],
    ['GET', '/admin/deliveries'],
    ['GET', '/admin/stats'],
    ['POST', '/admin/replay'],
    ['GET', '/admin'],
    ['GET', '/admin/sources'],
    ['POST', '/admin/login'],
    ['POST', '/admin/logout'],
    ['POST', '/admin/deliveries/replay'],
    ['POST', '/admin/sources/rules'],
  ] as const

  it('never answers a 5xx', async () => {
    const counted = queueCallsDuring(spyOnQueue())
    const before = await storedConfig()
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        queryString,
        bodyFor(fc.oneof(configLike, replayLike)),
        formContentType,
        async ([method, path], query, body, contentType) => {
          const init: RequestInit = method === 'GET' ? {} : { body, headers: { 'Content-Type': contentType } }
          const { result: status, calls } = await counted(async () =>
            statusBelow500(await adminFetch(method, `${path}?${query}`, init)),
          )
          if (status >= 400) expect(calls).toBe(0)
          // A PUT that got through changed the config: put the baseline back for the next run.
          if (method === 'PUT' && status < 300) await putConfig(BASELINE)
        },
      ),
      RUNS,
    )
    expect(await storedConfig()).toEqual(before)
  })
})

describe('PUT /admin/config', () => {
  it('stores nothing it refuses, and nothing it should refuse', async () => {
    await putConfig(BASELINE)
    const statuses = new Set<number>()
    await fc.assert(
      fc.asyncProperty(bodyFor(configLike), async (body) => {
        const before = await storedConfig()
        const status = await statusBelow500(await adminFetch('PUT', '/admin/config', { body }))
        statuses.add(status)
        if (status >= 400) {
          expect(await storedConfig()).toEqual(before)
          return
        }
        const document = parsed(body)
        // Accepted: the body was a JSON object with a sources array…
        expect(document.ok && isPlainObject(document.value) && Array.isArray(document.value.sources)).toBe(
          true,
        )
        // …and what got stored holds no placeholder as a secret, no reserved key, nothing too deep.
        const stored: unknown = JSON.parse((await env.CONFIG.get('config:v1')) ?? 'null')
        expect(stringsOf(stored)).not.toContain(REDACTED)
        expect(keysOf(stored).filter((key) => (RESERVED as readonly string[]).includes(key))).toEqual([])
        expect(JSON.stringify(stored)).not.toMatch(/\[{33}/)
        await putConfig(BASELINE)
      }),
      {
        ...RUNS,
        // What the issue found: deep settings (a 500), the placeholder stored as a new secret, a reserved name.
        examples: [
          [
            `{"sources":[{"name":"fuzz","writeKey":"wk_fuzz_admin_1","destinations":{"Calixa":{"apiKey":"k","endpoint":"https://c.example","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}}]}`,
          ],
          ['{"sources":[{"name":"new","writeKey":"<redacted>"}]}'],
          ['{"sources":[{"name":"fuzz","writeKey":"wk_fuzz_admin_1","destinations":{"__proto__":{}}}]}'],
          // And one the schema takes, so the accepted side is always exercised, whatever the seed.
          [JSON.stringify(BASELINE)],
        ],
      },
    )
    // The generator reaches both sides of validation.
    expect(statuses).toContain(200)
    expect(statuses).toContain(400)
  })

  it('refuses every body that is not a JSON object with a 4xx', async () => {
    await putConfig(BASELINE)
    const before = await storedConfig()
    const notAnObject = anyJson.filter((value) => !isPlainObject(value))
    await fc.assert(
      fc.asyncProperty(notAnObject, async (value) => {
        const response = await adminFetch('PUT', '/admin/config', { body: JSON.stringify(value) })
        expect(response.status).toBeGreaterThanOrEqual(400)
        expect(await statusBelow500(response)).toBeLessThan(500)
      }),
      RUNS,
    )
    expect(await storedConfig()).toEqual(before)
  })
})

describe('GET /admin/config, /admin/stats and the dashboard pages', () => {
  it.each(['/admin/config', '/admin/stats', '/admin/sources'])(
    '%s: never a 5xx for any query string or cursor',
    async (path) => {
      await fc.assert(
        fc.asyncProperty(queryString, cursor, async (query, forged) => {
          const params = `${query}&cursor=${encodeURIComponent(forged)}`
          await statusBelow500(await adminFetch('GET', `${path}?${params}`))
        }),
        RUNS,
      )
    },
  )
})

describe('replay and deliveries', () => {
  it('GET /admin/deliveries: never a 5xx for any query or cursor, and a malformed cursor is a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(queryString, cursor, async (query, forged) => {
        const response = await adminFetch(
          'GET',
          // The forged cursor first: a query naming `cursor` again must not shadow it.
          `/admin/deliveries?cursor=${encodeURIComponent(forged)}&${query}`,
        )
        const status = await statusBelow500(response)
        const decoded = (() => {
          try {
            return JSON.parse(decodeURIComponent(atob(forged))) as unknown
          } catch {
            return undefined
          }
        })()
        const wellFormed =
          isPlainObject(decoded) &&
          typeof decoded.recordedUs === 'number' &&
          Number.isFinite(decoded.recordedUs) &&
          typeof decoded.source === 'string' &&
          typeof decoded.messageId === 'string' &&
          typeof decoded.destination === 'string'
        // An empty cursor is no cursor: the first page.
        if (forged !== '' && !wellFormed) expect(status, `cursor ${forged}`).toBeGreaterThanOrEqual(400)
      }),
      RUNS,
    )
  })

  it('GET /admin (the dashboard page reads the same cursor): never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(queryString, cursor, async (query, forged) => {
        await statusBelow500(await adminFetch('GET', `/admin?${query}&cursor=${encodeURIComponent(forged)}`))
      }),
      RUNS,
    )
  })

  it('POST /admin/replay: never a 5xx, a 4xx for what the schema must refuse, and no replay when refused', async () => {
    expect(await failedPairs()).toBeGreaterThan(0)
    const counted = queueCallsDuring(spyOnQueue())
    await fc.assert(
      fc.asyncProperty(bodyFor(replayLike), async (body) => {
        const { result: status, calls } = await counted(async () =>
          statusBelow500(await adminFetch('POST', '/admin/replay', { body })),
        )
        const document = parsed(body)
        const value = document.ok ? document.value : undefined
        const mustRefuse =
          !isPlainObject(value) ||
          ('filter' in value && !isPlainObject(value.filter)) ||
          ('deliveries' in value && !Array.isArray(value.deliveries)) ||
          'filter' in value === 'deliveries' in value ||
          ('limit' in value &&
            !(
              Number.isInteger(value.limit) &&
              (value.limit as number) >= 1 &&
              (value.limit as number) <= 1000
            ))
        if (mustRefuse) expect(status, body).toBeGreaterThanOrEqual(400)
        if (status >= 400) expect(calls, body).toBe(0)
      }),
      // What the issue found first: an array filter taken as "everything".
      { ...RUNS, examples: [['{"filter":[]}'], ['{"filter":[],"limit":1}']] },
    )
  })
})

describe('dashboard form actions', () => {
  it('the replay button: never a 5xx, and no replay for a form it refuses', async () => {
    const counted = queueCallsDuring(spyOnQueue())
    await fc.assert(
      fc.asyncProperty(formBody, formContentType, async (body, contentType) => {
        const { result: status, calls } = await counted(async () =>
          statusBelow500(
            await adminFetch('POST', '/admin/deliveries/replay', {
              body,
              headers: { 'Content-Type': contentType },
            }),
          ),
        )
        const fields = new URLSearchParams(body)
        const complete = ['source', 'messageId', 'destination'].every((key) => fields.get(key))
        if (contentType === 'application/x-www-form-urlencoded' && !complete)
          expect(status, body).toBeGreaterThanOrEqual(400)
        if (status >= 400) expect(calls, body).toBe(0)
      }),
      RUNS,
    )
  })

  it('the rules editor: never a 5xx, and the config unchanged by a form it refuses', async () => {
    const form = fc.record({
      source: fc.oneof(fc.constant(FUZZ_SOURCE.name), text),
      destination: fc.oneof(fc.constantFrom('CrowdPower', 'Crisp', '__proto__'), text),
      rules: fc.oneof(
        anyJson.map((value) => JSON.stringify(value)),
        configLike.map((value) => JSON.stringify(value)),
        text,
      ),
    })
    await fc.assert(
      fc.asyncProperty(form, async (fields) => {
        const before = await storedConfig()
        const status = await statusBelow500(
          await adminFetch('POST', '/admin/sources/rules', {
            body: new URLSearchParams(fields),
            redirect: 'manual',
          }),
        )
        if (status >= 400) expect(await storedConfig()).toEqual(before)
        else {
          // Saved: only for the source and destination that exist, with rules that parse.
          expect(status).toBe(303)
          expect([fields.source, fields.destination]).toEqual([FUZZ_SOURCE.name, 'CrowdPower'])
          await putConfig(BASELINE)
        }
      }),
      RUNS,
    )
  })

  it('login: never a 5xx, and a session only for the admin token', async () => {
    await fc.assert(
      fc.asyncProperty(formBody, formContentType, async (body, contentType) => {
        const response = await workerFetch('/admin/login', {
          method: 'POST',
          body,
          headers: { 'Content-Type': contentType },
        })
        await statusBelow500(response)
        expect(response.headers.get('set-cookie')).toBeNull()
      }),
      RUNS,
    )
  })
})
