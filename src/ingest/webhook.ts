import type { Context } from 'hono'
import type { SourceConfig } from '../config/schema'
import { findSourceByName, loadConfig } from '../config/store'
import type { AppEnv } from '../env'
import { parseJsonBytes, readBodyBytes } from '../lib/body'
import { hmacSha1Hex, secretsEqual } from '../lib/crypto'
import { RouterError } from '../lib/errors'
import { nestsDeeperThan } from '../lib/json-size'
import { isPlainObject } from '../lib/objects'
import { queueAndAnswer } from './accept'
import { MAX_EVENT_DEPTH, MAX_WEBHOOK_BYTES, MAX_WEBHOOK_EVENTS, WEBHOOK_LIMIT_NAME } from './limits'
import { normalizeEvent, type Outcome } from './normalize'

/** The same answer for an unknown source and a bad signature, so source names cannot be probed. */
function unauthorized(): RouterError {
  return new RouterError(
    401,
    'invalid_signature',
    'unknown source, or X-Signature is missing or does not match the source webhookSecret',
  )
}

/**
 * The parsed body, once `X-Signature` (hex HMAC-SHA1 of the raw body with the
 * source's webhookSecret) checks out.
 */
async function verifiedBody(source: SourceConfig, signature: string | undefined, bytes: Uint8Array) {
  const secret = source.webhookSecret
  if (secret === undefined) return parseJsonBytes(bytes) // allowUnsigned, checked by the caller
  if (!signature) throw unauthorized()
  const given = signature.trim().toLowerCase()
  if (secretsEqual(given, await hmacSha1Hex(secret, bytes))) return parseJsonBytes(bytes)
  if (!source.acceptFirstEventSignature) throw unauthorized()

  // Segment's batching signs JSON.stringify(body[0]) only, leaving the other
  // events unauthenticated: hence opt-in per source.
  let body: unknown
  try {
    body = parseJsonBytes(bytes)
  } catch {
    throw unauthorized()
  }
  if (!Array.isArray(body) || body.length === 0) throw unauthorized()
  // Too deep to serialise safely, and no valid event anyway.
  if (nestsDeeperThan(body[0], MAX_EVENT_DEPTH)) throw unauthorized()
  const first = new TextEncoder().encode(JSON.stringify(body[0]))
  if (!secretsEqual(given, await hmacSha1Hex(secret, first))) throw unauthorized()
  return body
}

/** Segment's user-deletion notification: nothing to forward, so it is reported rather than queued. */
function deletionRejected(path: string): Outcome {
  const message = 'user deletion notifications are not supported; delete the user in each destination'
  return { ok: false, tooLarge: false, issues: [{ path, message }] }
}

/** `POST /webhook/:source`: events from Segment's Webhooks destination, one object or an array. */
export async function handleWebhook(c: Context<AppEnv, '/webhook/:source'>): Promise<Response> {
  const source = findSourceByName(await loadConfig(c.env), c.req.param('source'))
  if (!source) throw unauthorized()
  if (source.webhookSecret === undefined && !source.allowUnsigned) {
    throw new RouterError(
      403,
      'webhooks_disabled',
      'this source accepts no webhooks: set its webhookSecret (or allowUnsigned: true)',
    )
  }
  const bytes = await readBodyBytes(c.req.raw, { maxBytes: MAX_WEBHOOK_BYTES, limitName: WEBHOOK_LIMIT_NAME })
  const body = await verifiedBody(source, c.req.header('x-signature'), bytes)

  const single = !Array.isArray(body)
  const items: unknown[] = single ? [body] : body
  if (items.length === 0 || items.length > MAX_WEBHOOK_EVENTS) {
    throw new RouterError(400, 'invalid_webhook', `send between 1 and ${MAX_WEBHOOK_EVENTS} events`)
  }
  const now = new Date().toISOString()
  const outcomes = items.map((item, index) => {
    const path = single ? '' : String(index)
    if (isPlainObject(item) && item.type === 'delete') return deletionRejected(path)
    return normalizeEvent(item, { source: source.name, now, times: 'processed', path })
  })
  return queueAndAnswer(c, source.name, outcomes, single ? 'single' : 'list')
}
