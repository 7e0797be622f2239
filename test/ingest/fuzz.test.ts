import fc from 'fast-check'
import { beforeAll, expect, it } from 'vitest'
import { BATCHED, basicAuth, gzip, OPEN, putConfig, routerFetch, signHex, WEB } from '../helpers/router'

beforeAll(async () => {
  await putConfig({ sources: [WEB, BATCHED, OPEN] })
})

const PATHS = ['batch', 'b', 'import', 'identify', 'track', 'page', 'screen', 'group', 'alias']
  .concat(['i', 't', 'p', 's', 'g', 'a'])
  .map((path) => `/v1/${path}`)
  .concat(['/webhook/web', '/webhook/batched', '/webhook/open', '/webhook/nope'])

const text = fc.string({ unit: 'binary', maxLength: 40 })
const time = fc
  .oneof(
    {
      arbitrary: fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
      weight: 4,
    },
    fc.date({ noInvalidDate: true }),
  )
  .map((date) => date.toISOString())
const anyTime = fc.oneof(
  { arbitrary: time, weight: 3 },
  fc.constantFrom('2024-01-01T00:00:00+05', '2024-02-30 10:00:00 +0530', '0000-01-01T00:00:00Z'),
  text,
)
const id = fc.oneof(text, fc.integer(), fc.constant(null))
const anyJson = fc.jsonValue({ maxDepth: 3 })

/** Something shaped like a Segment event, with every field possibly wrong. */
const eventLike = fc.record(
  {
    type: fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'alias', 'delete', 'other'),
    userId: id,
    anonymousId: id,
    previousId: id,
    groupId: id,
    event: text,
    messageId: fc.oneof(text, fc.string({ minLength: 90, maxLength: 120 })),
    timestamp: anyTime,
    originalTimestamp: anyTime,
    sentAt: anyTime,
    receivedAt: anyTime,
    writeKey: fc.constantFrom(WEB.writeKey, 'wk_unknown_000'),
    context: anyJson,
    integrations: anyJson,
    properties: anyJson,
    traits: anyJson,
  },
  { requiredKeys: [] },
)

/** An event valid for every call type, unless one of its optional fields is not. */
const plausibleEvent = fc.record({
  type: fc.constantFrom('track', 'identify'),
  userId: fc.string({ minLength: 1, maxLength: 20 }),
  event: fc.string({ minLength: 1, maxLength: 20 }),
  groupId: fc.string({ minLength: 1, maxLength: 20 }),
  previousId: fc.string({ minLength: 1, maxLength: 20 }),
  timestamp: fc.option(anyTime, { nil: undefined }),
  sentAt: fc.option(anyTime, { nil: undefined }),
  context: fc.option(fc.dictionary(text, anyJson, { maxKeys: 3 }), { nil: undefined }),
  properties: fc.option(fc.dictionary(text, anyJson, { maxKeys: 3 }), { nil: undefined }),
})

const batchLike = fc.record(
  {
    batch: fc.oneof(fc.array(fc.oneof(plausibleEvent, eventLike, anyJson), { maxLength: 8 }), anyJson),
    writeKey: fc.constantFrom(WEB.writeKey, BATCHED.writeKey, 'nope'),
    sentAt: anyTime,
    context: anyJson,
    integrations: anyJson,
  },
  { requiredKeys: [] },
)

const jsonBody = fc
  .oneof(
    { arbitrary: plausibleEvent, weight: 3 },
    { arbitrary: fc.record({ batch: fc.array(plausibleEvent, { minLength: 1, maxLength: 5 }) }), weight: 3 },
    eventLike,
    batchLike,
    fc.array(fc.oneof(plausibleEvent, eventLike), { maxLength: 5 }),
    anyJson,
  )
  .map((value) => JSON.stringify(value))

const body = fc.oneof(
  { arbitrary: jsonBody.map((json) => ({ json, bytes: new TextEncoder().encode(json) })), weight: 4 },
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ json: undefined, bytes })),
)

/** Header values: any printable ASCII (what `Headers` lets a client send). */
const headerValue = fc
  .string({ unit: 'binary-ascii', maxLength: 60 })
  .map((value) => value.replace(/[^\x20-\x7e\t]/g, ''))

const authorization = fc.option(
  fc.oneof(
    {
      arbitrary: fc.constantFrom(basicAuth(WEB.writeKey), basicAuth(BATCHED.writeKey, { colon: false })),
      weight: 4,
    },
    fc.constant('Bearer token'),
    text.map((value) => basicAuth(value.replace(/[^\x20-\x7e]/g, ''))),
    headerValue.map((value) => `Basic ${value}`),
    headerValue,
  ),
  { nil: undefined },
)
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
    headerValue,
  ),
  { nil: undefined },
)
const contentEncoding = fc.option(fc.oneof(fc.constantFrom('gzip', 'deflate', 'br'), headerValue), {
  nil: undefined,
})
const signature = fc.constantFrom('none', 'raw', 'first-event', 'garbage')

const request = fc.record({
  path: fc.constantFrom(...PATHS),
  body,
  compress: fc.boolean(),
  authorization,
  contentType,
  contentEncoding,
  signature,
})

type Sample = typeof request extends fc.Arbitrary<infer T> ? T : never

async function send(sample: Sample): Promise<Response> {
  const payload = sample.compress
    ? await gzip(new TextDecoder().decode(sample.body.bytes))
    : sample.body.bytes
  const headers: Record<string, string> = {}
  if (sample.authorization !== undefined) headers.Authorization = sample.authorization
  if (sample.contentType !== undefined) headers['Content-Type'] = sample.contentType
  if (sample.contentEncoding !== undefined) headers['Content-Encoding'] = sample.contentEncoding
  const secret = sample.path === '/webhook/batched' ? BATCHED.webhookSecret : WEB.webhookSecret
  if (sample.signature === 'raw') headers['X-Signature'] = signHex(secret, sample.body.bytes)
  if (sample.signature === 'garbage') headers['X-Signature'] = 'zz'
  if (sample.signature === 'first-event' && sample.body.json !== undefined) {
    const parsed: unknown = JSON.parse(sample.body.json)
    if (Array.isArray(parsed) && parsed.length > 0)
      headers['X-Signature'] = signHex(secret, JSON.stringify(parsed[0]))
  }
  return routerFetch(sample.path, { method: 'POST', headers, body: payload })
}

it('answers no random request with a 5xx', async () => {
  const statuses = new Set<number>()
  await fc.assert(
    fc.asyncProperty(request, async (sample) => {
      const response = await send(sample)
      statuses.add(response.status)
      expect(response.status, await response.text()).toBeLessThan(500)
    }),
    { numRuns: 200 },
  )
  // The generator reaches past authentication into validation and queueing, not only the front door.
  expect(statuses).toContain(200)
  expect(statuses).toContain(400)
  expect(statuses).toContain(401)
})

it('survives pathological JSON: deep nesting, huge numbers, escapes', async () => {
  // Under 32 KB, yet deep enough to overflow the queue's serialiser (~10,000 levels) had it been queued.
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`
  const bodies = [
    JSON.stringify({ batch: [{ type: 'track', userId: 'u', event: 'E', properties: { deep: 0 } }] }).replace(
      '0',
      deep,
    ),
    JSON.stringify({ context: { deep: 0 }, batch: [{ type: 'track', userId: 'u', event: 'E' }] }).replace(
      '0',
      deep,
    ),
    '{"batch":[{"type":"track","userId":"u","event":"E","properties":{"n":1e999}}]}',
    '{"batch":[{"type":"track","userId":"\\ud800","event":"\\u0000","__proto__":{"x":1}}]}',
  ]
  const statuses: number[] = []
  for (const body of bodies) {
    const response = await routerFetch('/v1/batch', {
      method: 'POST',
      headers: { Authorization: basicAuth(WEB.writeKey) },
      body,
    })
    statuses.push(response.status)
  }
  // Deep events are rejected (the only event of each batch, hence 400); the odd but valid JSON goes through.
  expect(statuses).toEqual([400, 400, 200, 200])
})
