import { env } from 'cloudflare:workers'
import * as v from 'valibot'
import { SANDBOX_CREDENTIALS } from '../../../sandbox/credentials'
import { createDeliveryContext } from '../../../src/delivery/context'
import { crossingMindsDestination } from '../../../src/destinations/crossing-minds'
import {
  type CrossingMindsSettings,
  CrossingMindsSettingsSchema,
} from '../../../src/destinations/crossing-minds/settings'
import type { DeliveryContext, DeliveryItem } from '../../../src/destinations/types'
import type { CallType, EventOf } from '../../../src/segment/schema'
import type { SandboxTenant } from '../../helpers/sandbox'

const creds = SANDBOX_CREDENTIALS.crossingMinds

/** Raw settings as an admin would PUT them. */
export const CM_RAW_SETTINGS = {
  apiKey: creds.name,
  apiPassword: creds.password,
  apiDatabaseId: creds.dbId,
}

/** A delivery context against the tenant's emulator; a fresh source per call unless given. */
export function cmContext(
  tenant: SandboxTenant,
  options: { settings?: Record<string, unknown>; source?: string; timeoutMs?: number } = {},
): DeliveryContext<CrossingMindsSettings> {
  const settings = v.parse(CrossingMindsSettingsSchema, { ...CM_RAW_SETTINGS, ...options.settings })
  const bindings = options.timeoutMs ? { ...env, PARTNER_TIMEOUT_MS: String(options.timeoutMs) } : env
  return createDeliveryContext(
    bindings,
    options.source ?? `src-${crypto.randomUUID()}`,
    crossingMindsDestination,
    {
      enabled: true,
      rateLimit: null,
      pauseAfterAuthFailures: 5,
      apiBase: tenant.apiBase('crossingminds'),
      settings,
    },
  ) as DeliveryContext<CrossingMindsSettings>
}

let sequence = 0

/** A Segment event as the router queues it (messageId and timestamps filled in). */
export function event<T extends CallType>(type: T, fields: Record<string, unknown> = {}): EventOf<T> {
  sequence += 1
  return {
    type,
    messageId: `cm-${sequence}-${crypto.randomUUID()}`,
    receivedAt: '2024-05-01T10:00:01.000Z',
    timestamp: '2024-05-01T10:00:00.000Z',
    ...fields,
  } as EventOf<T>
}

/** 2024-05-01T10:00:00Z in Unix seconds. */
export const EVENT_UNIX_SECONDS = 1714557600

export function items(events: EventOf<CallType>[], attempt = 1): DeliveryItem[] {
  return events.map((e) => ({ event: e, attempt }))
}

export interface CmSnapshot {
  logins: number
  refreshes: number
  properties: { property_name: string; value_type: string; repeated: boolean }[]
  users: Record<string, Record<string, unknown>>
  interactions: Record<string, unknown>[]
}

export async function cmState(tenant: SandboxTenant): Promise<CmSnapshot> {
  return (await (await tenant.control('crossingminds', 'state')).json()) as CmSnapshot
}

/** `METHOD path` of every request the emulator recorded, in order. */
export async function cmCalls(tenant: SandboxTenant): Promise<string[]> {
  return (await tenant.requests('crossingminds')).map((request) => `${request.method} ${request.path}`)
}
