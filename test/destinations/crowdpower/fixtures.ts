import { env } from 'cloudflare:workers'
import * as v from 'valibot'
import { SANDBOX_CREDENTIALS } from '../../../sandbox/credentials'
import type { CrowdPowerCustomerRecord } from '../../../sandbox/partners/crowdpower'
import { createDeliveryContext } from '../../../src/delivery/context'
import { crowdPowerDestination } from '../../../src/destinations/crowdpower'
import {
  type CrowdPowerSettings,
  CrowdPowerSettingsSchema,
} from '../../../src/destinations/crowdpower/settings'
import type { DeliveryContext } from '../../../src/destinations/types'
import type { SandboxTenant } from '../../helpers/sandbox'

// The Segment event builders are the same for every partner; they live with the Crisp tests.
export { items, segmentEvent } from '../crisp/fixtures'

export const CROWDPOWER_PUBLIC_KEY = SANDBOX_CREDENTIALS.crowdPower.publicKey

/** A delivery context against the tenant's CrowdPower emulator (CrowdPower keeps no KV state). */
export function crowdPowerContext(
  tenant: SandboxTenant,
  options: { settings?: Record<string, unknown>; timeoutMs?: number } = {},
): DeliveryContext<CrowdPowerSettings> {
  const settings = v.parse(CrowdPowerSettingsSchema, { apiKey: CROWDPOWER_PUBLIC_KEY, ...options.settings })
  const bindings = options.timeoutMs ? { ...env, PARTNER_TIMEOUT_MS: String(options.timeoutMs) } : env
  return createDeliveryContext(bindings, `src-${crypto.randomUUID()}`, crowdPowerDestination, {
    enabled: true,
    rateLimit: null,
    pauseAfterAuthFailures: 5,
    apiBase: tenant.apiBase('crowdpower'),
    settings,
  })
}

/** A customer as the CrowdPower emulator's snapshot control returns it. */
export type CrowdPowerSnapshotCustomer = CrowdPowerCustomerRecord

export async function crowdPowerCustomers(tenant: SandboxTenant): Promise<CrowdPowerSnapshotCustomer[]> {
  return (await (await tenant.control('crowdpower', 'snapshot')).json()) as CrowdPowerSnapshotCustomer[]
}
