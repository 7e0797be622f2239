/**
 * A receiver for the router's alert notifications (README "Alerts"): it stands
 * for an on-call tool's generic webhook and for a Slack incoming webhook. It
 * answers as Slack does (`200 ok`) and keeps each body's exact text, so a test
 * checks the HMAC over the bytes that were signed; a fault (`partner: 'alerts'`)
 * makes it fail.
 *
 *   POST /t/<tenant>/alerts/<any path>   receive
 *   POST /__sandbox/t/<tenant>/alerts/received   what it received, oldest first
 */
import { Hono } from 'hono'
import type { PartnerApp } from './core'

export interface ReceivedAlert {
  path: string
  headers: Record<string, string>
  /** The body exactly as sent. */
  text: string
  at: number
}

const RECEIVER = 'alerts'

export const alertsReceiver: PartnerApp = new Hono()

alertsReceiver.post('/__control/received', (c) =>
  c.json(c.env.tenant.stateOf<ReceivedAlert[]>(RECEIVER, () => [])),
)

alertsReceiver.post('*', async (c) => {
  const headers: Record<string, string> = {}
  c.req.raw.headers.forEach((value, key) => {
    headers[key] = value
  })
  c.env.tenant
    .stateOf<ReceivedAlert[]>(RECEIVER, () => [])
    .push({ path: c.req.path, headers, text: await c.req.text(), at: Date.now() })
  return c.text('ok')
})
