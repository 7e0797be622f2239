import { env } from 'cloudflare:workers'
import * as v from 'valibot'
import { SANDBOX_CREDENTIALS } from '../../../sandbox/credentials'
import { createDeliveryContext } from '../../../src/delivery/context'
import { calixaDestination } from '../../../src/destinations/calixa'
import { type CalixaSettings, CalixaSettingsSchema } from '../../../src/destinations/calixa/settings'
import type { DeliveryContext, DeliveryItem } from '../../../src/destinations/types'
import type { CallType, EventOf } from '../../../src/segment/schema'
import type { SandboxTenant } from '../../helpers/sandbox'

export const CALIXA_KEY = SANDBOX_CREDENTIALS.calixa.apiKey

/** The tenant's webhook URL (the `endpoint` setting). */
export function calixaEndpoint(tenant: SandboxTenant): string {
  return `${tenant.apiBase('calixa')}/segment/webhook`
}

/** A delivery context for Calixa; `settings` are raw (parsed by the schema) and replace the defaults. */
export function calixaContext(
  tenant: SandboxTenant,
  options: { settings?: Record<string, unknown>; timeoutMs?: number } = {},
): DeliveryContext<CalixaSettings> {
  const raw = options.settings ?? { apiKey: CALIXA_KEY, endpoint: calixaEndpoint(tenant) }
  const settings = v.parse(CalixaSettingsSchema, raw)
  const bindings = options.timeoutMs ? { ...env, PARTNER_TIMEOUT_MS: String(options.timeoutMs) } : env
  return createDeliveryContext(bindings, `src-${crypto.randomUUID()}`, calixaDestination, {
    enabled: true,
    rateLimit: null,
    pauseAfterAuthFailures: 5,
    settings,
  }) as DeliveryContext<CalixaSettings>
}

let sequence = 0

export function event<T extends CallType>(type: T, fields: Record<string, unknown> = {}): EventOf<T> {
  sequence += 1
  return {
    type,
    messageId: `cx-${sequence}-${crypto.randomUUID()}`,
    receivedAt: '2024-05-01T10:00:01.000Z',
    timestamp: '2024-05-01T10:00:00.000Z',
    ...fields,
  } as EventOf<T>
}

export function items(events: EventOf<CallType>[], attempt = 1): DeliveryItem[] {
  return events.map((e) => ({ event: e, attempt }))
}

export interface CalixaSnapshot {
  users: Record<string, { userId: string; traits: Record<string, unknown>; accounts: string[] }>
  accounts: Record<string, { groupId: string; traits: Record<string, unknown>; deleted: boolean }>
  accepted: { message: Record<string, unknown>; settings: Record<string, unknown> }[]
}

export async function calixaState(tenant: SandboxTenant): Promise<CalixaSnapshot> {
  return (await (await tenant.control('calixa', 'state')).json()) as CalixaSnapshot
}

/** Decodes `X-Segment-Settings` the way a receiver would (base64 → UTF-8 JSON). */
export function decodeSettingsHeader(value: string | undefined): unknown {
  if (value === undefined) return undefined
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0))))
}
