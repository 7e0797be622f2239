import { type Context, Hono } from 'hono'
import * as v from 'valibot'
import type { AppEnv } from '../env'
import { decodeBodyText, parseJsonText, readBodyBytes } from '../lib/body'
import { RouterError, toInputIssues } from '../lib/errors'
import { isPlainObject } from '../lib/objects'
import { type CallType, IntegrationsSchema, IsoDate, JsonObject } from '../segment/schema'
import { queueAndAnswer } from './accept'
import { browserSettingsRoutes } from './browser-settings'
import { BATCH_LIMIT_NAME, MAX_BATCH_EVENTS, MAX_REQUEST_BYTES, REQUEST_LIMIT_NAME } from './limits'
import { normalizeEvent } from './normalize'
import { handleWebhook } from './webhook'
import { sourceFromBody, sourceFromHeader } from './write-key'

/** `/v1/import` is the historical name, `/v1/b` analytics.js's and analytics-kotlin's. */
const BATCH_PATHS = ['batch', 'b', 'import'] as const

/** Single-event paths; analytics.js posts to the first letter of the type. */
const SINGLE_PATHS: Record<string, CallType> = {
  identify: 'identify',
  i: 'identify',
  track: 'track',
  t: 'track',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
}

const BatchEnvelopeSchema = v.looseObject({
  batch: v.pipe(
    v.array(v.unknown(), 'batch must be an array of events'),
    v.minLength(1, 'batch must not be empty'),
    v.maxLength(MAX_BATCH_EVENTS, `batch exceeds the limit of ${BATCH_LIMIT_NAME}`),
  ),
  sentAt: v.optional(IsoDate),
  context: v.optional(JsonObject),
  integrations: v.optional(IntegrationsSchema),
})

/**
 * Authenticates and reads a Tracking API request. A Basic write key wins over the
 * body's and is checked before the body is read; without one, the key is in the body.
 */
async function readTrackingRequest(c: Context<AppEnv>) {
  const fromHeader = await sourceFromHeader(c.env, c.req.header('authorization'))
  const bytes = await readBodyBytes(c.req.raw, { maxBytes: MAX_REQUEST_BYTES, limitName: REQUEST_LIMIT_NAME })
  const text = decodeBodyText(bytes)
  const body = parseJsonText(text)
  const source = fromHeader ?? (await sourceFromBody(c.env, body))
  return { body, source, now: new Date().toISOString() }
}

async function handleBatch(c: Context<AppEnv>): Promise<Response> {
  const { body, source, now } = await readTrackingRequest(c)
  const envelope = v.safeParse(BatchEnvelopeSchema, body)
  if (!envelope.success) {
    throw new RouterError(400, 'invalid_batch', 'the batch is invalid', toInputIssues(envelope.issues))
  }
  const { batch, sentAt, context, integrations } = envelope.output
  const defaults = { sentAt, context, integrations }
  const outcomes = batch.map((item, index) =>
    normalizeEvent(item, {
      source: source.name,
      now,
      times: 'tracking',
      path: `batch.${index}`,
      defaults,
    }),
  )
  return queueAndAnswer(c, source.name, outcomes, 'list')
}

async function handleSingle(c: Context<AppEnv>, type: CallType): Promise<Response> {
  const { body, source, now } = await readTrackingRequest(c)
  // The path names the call; a body `type` that disagrees would only be a client bug.
  const item = isPlainObject(body) ? { ...body, type } : body
  const outcome = normalizeEvent(item, {
    source: source.name,
    now,
    times: 'tracking',
    path: '',
  })
  return queueAndAnswer(c, source.name, [outcome], 'single')
}

/** Segment's HTTP Tracking API and the Webhooks destination receiver. */
export const ingestRoutes = new Hono<AppEnv>()

for (const path of BATCH_PATHS) ingestRoutes.post(`/v1/${path}`, handleBatch)
for (const [path, type] of Object.entries(SINGLE_PATHS)) {
  ingestRoutes.post(`/v1/${path}`, (c) => handleSingle(c, type))
}
ingestRoutes.post('/webhook/:source', handleWebhook)
ingestRoutes.route('/', browserSettingsRoutes)
