import { env } from 'cloudflare:workers'
import * as v from 'valibot'
import { SANDBOX_CREDENTIALS } from '../../../sandbox/credentials'
import { createDeliveryContext } from '../../../src/delivery/context'
import { crispDestination } from '../../../src/destinations/crisp'
import { type CrispSettings, CrispSettingsSchema } from '../../../src/destinations/crisp/settings'
import type { DeliveryContext, DeliveryItem } from '../../../src/destinations/types'
import type { CallType, EventOf } from '../../../src/segment/schema'
import type { SandboxTenant } from '../../helpers/sandbox'

const creds = SANDBOX_CREDENTIALS.crisp

/** Raw settings as an admin would PUT them (parsed by the destination's own schema). */
export const CRISP_RAW_SETTINGS = {
  apiKey: `${creds.identifier}:${creds.key}`,
  websiteId: creds.websiteId,
}

/** The emulator's API root for this tenant, for direct (strictness) calls. */
export function crispPeopleUrl(
  tenant: SandboxTenant,
  rest: string,
  websiteId: string = creds.websiteId,
): string {
  return `${tenant.apiBase('crisp')}/v1/website/${websiteId}/people/${rest}`
}

export const CRISP_AUTH_HEADERS = {
  authorization: `Basic ${btoa(`${creds.identifier}:${creds.key}`)}`,
  'x-crisp-tier': 'plugin',
  'content-type': 'application/json',
}

/**
 * A delivery context against the tenant's Crisp emulator. Each call gets its own
 * source name unless given one, so KV state never leaks between tests.
 */
export function crispContext(
  tenant: SandboxTenant,
  options: { settings?: Record<string, unknown>; source?: string; timeoutMs?: number } = {},
): DeliveryContext<CrispSettings> {
  const settings = v.parse(CrispSettingsSchema, { ...CRISP_RAW_SETTINGS, ...options.settings })
  const bindings = options.timeoutMs ? { ...env, PARTNER_TIMEOUT_MS: String(options.timeoutMs) } : env
  return createDeliveryContext(bindings, options.source ?? `src-${crypto.randomUUID()}`, crispDestination, {
    enabled: true,
    rateLimit: null,
    pauseAfterAuthFailures: 5,
    apiBase: tenant.apiBase('crisp'),
    settings,
  })
}

let sequence = 0

/** A Segment event as the router queues it (messageId, timestamps filled in). */
export function segmentEvent<T extends CallType>(type: T, fields: Record<string, unknown> = {}): EventOf<T> {
  sequence += 1
  return {
    type,
    messageId: `m-${sequence}-${crypto.randomUUID()}`,
    receivedAt: '2024-05-01T10:00:01.000Z',
    timestamp: '2024-05-01T10:00:00.000Z',
    ...fields,
  } as EventOf<T>
}

export function items(events: EventOf<CallType>[], attempt = 1): DeliveryItem[] {
  return events.map((event) => ({ event, attempt }))
}

/** A person as the Crisp emulator's snapshot control returns it. */
export interface CrispSnapshotPerson {
  people_id: string
  email: string
  person: Record<string, unknown>
  data: Record<string, unknown>
  events: { text: string; data?: Record<string, unknown> }[]
}

export async function crispPeople(tenant: SandboxTenant): Promise<CrispSnapshotPerson[]> {
  return (await (await tenant.control('crisp', 'snapshot')).json()) as CrispSnapshotPerson[]
}
