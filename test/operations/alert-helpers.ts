import { createExecutionContext, createScheduledController } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import type { Bindings } from '../../src/env'
import type { Clock } from '../../src/lib/clock'
import { createScheduledHandler } from '../../src/operations/alerts/scheduled'
import type { AlertRecord, Incident } from '../../src/operations/alerts/types'
import { ADMIN_TOKEN, routerFetch } from '../helpers/router'
import type { ReceivedAlert, SandboxTenant } from '../helpers/sandbox'

export const WEBHOOK_SECRET = 'alert-signing-secret-0123456789'

/** An `alerts` object whose two targets are this tenant's receiver: `/ops` (signed webhook) and `/slack`. */
export function alertsFor(tenant: SandboxTenant, overrides: Record<string, unknown> = {}) {
  return {
    targets: [
      { kind: 'webhook', name: 'ops', url: tenant.alertUrl('/ops'), secret: WEBHOOK_SECRET },
      { kind: 'slack', name: 'chat', url: tenant.alertUrl('/slack') },
    ],
    ...overrides,
  }
}

/** One cron run of the real scheduled handler at the clock's time; `vars` replace bindings for the run. */
export async function cronRun(clock: Clock, vars: Partial<Bindings> = {}): Promise<void> {
  await createScheduledHandler(clock)(
    createScheduledController(),
    { ...env, ...vars },
    createExecutionContext(),
  )
}

export async function adminAlerts(limit = 200): Promise<{ incidents: Incident[]; alerts: AlertRecord[] }> {
  const response = await routerFetch(`/admin/alerts?limit=${limit}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  expect(response.status).toBe(200)
  return response.json()
}

/** The webhook bodies the `/ops` target received, parsed. */
export async function webhookBodies(tenant: SandboxTenant): Promise<Record<string, unknown>[]> {
  return (await tenant.receivedAlerts('/ops')).map((alert) => JSON.parse(alert.text))
}

/** `type` and `incident` of each webhook received, in order: what an on-call tool would have been told. */
export async function announcements(tenant: SandboxTenant): Promise<string[]> {
  return (await webhookBodies(tenant)).map((body) => `${body.type} ${body.incident}`)
}

/**
 * Checks a webhook the way a receiver would, with WebCrypto and none of the
 * router's code: HMAC-SHA256 of `<timestamp>.<body>` under the secret, in hex,
 * compared in constant time.
 */
export async function verifySignature(alert: ReceivedAlert, secret: string): Promise<boolean> {
  const timestamp = alert.headers['x-router-timestamp'] ?? ''
  const signature = alert.headers['x-router-signature'] ?? ''
  const encoder = new TextEncoder()
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = new Uint8Array(
    await crypto.subtle.sign('HMAC', key, encoder.encode(`${timestamp}.${alert.text}`)),
  )
  const expected = encoder.encode(
    `sha256=${[...mac].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`,
  )
  const given = encoder.encode(signature)
  return given.byteLength === expected.byteLength && crypto.subtle.timingSafeEqual(given, expected)
}
