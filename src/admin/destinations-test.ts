import { Hono } from 'hono'
import { parseDestinationId } from '../config/destination-id'
import { loadConfig } from '../config/store'
import { testSend } from '../delivery/test-send'
import type { AppEnv } from '../env'
import { resolveTestEvent } from '../ingest/test-event'
import { readJsonBody } from '../lib/body'
import { systemClock } from '../lib/clock'
import { RouterError } from '../lib/errors'

/** A Segment event is at most 32 KB (ingest refuses larger ones with its own message); room for the wrapper. */
const MAX_TEST_BODY_BYTES = 64 * 1024

/**
 * POST /admin/destinations/:id/test: one sample or pasted event to one
 * destination (`<source>:<destination>`), answered with the outcome and every
 * partner exchange, secrets redacted. The ledger is not touched.
 */
export const destinationTestRoutes = new Hono<AppEnv>().post('/destinations/:id/test', async (c) => {
  const target = parseDestinationId(c.req.param('id'), await loadConfig(c.env))
  const body = await readJsonBody(c.req.raw, { maxBytes: MAX_TEST_BODY_BYTES, limitName: '64 KB' })
  const resolved = resolveTestEvent(body, target.source.name, systemClock.now())
  if (!resolved.ok) {
    throw resolved.tooLarge
      ? new RouterError(413, 'payload_too_large', 'the event is too large', resolved.issues)
      : new RouterError(400, 'invalid_event', 'invalid test request; nothing was sent', resolved.issues)
  }
  const result = await testSend(c.env, target, resolved.event, {
    clock: systemClock,
    actor: 'admin',
    input: resolved.input,
  })
  return c.json({ success: true, ...result })
})
