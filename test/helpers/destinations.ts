import { sandboxDestinationSettings } from '../../scripts/sandbox-destinations'
import { putConfig } from './router'
import type { SandboxTenant } from './sandbox'

/** Config for all four destinations, each pointed at the tenant's emulator with the sandbox's credentials. */
export function sandboxDestinations(tenant: SandboxTenant): Record<string, Record<string, unknown>> {
  return sandboxDestinationSettings((partner) => tenant.apiBase(partner))
}

export interface ConfiguredSource {
  name: string
  writeKey: string
}

/**
 * Replaces the config with one fresh source holding these destinations. A new
 * source per test keeps events still retrying from an earlier test from being
 * routed to this test's emulator (their source is gone, so they are dropped).
 */
export async function configureSource(destinations: Record<string, unknown>): Promise<ConfiguredSource> {
  const suffix = crypto.randomUUID().slice(0, 8)
  const source = { name: `src-${suffix}`, writeKey: `wk_${suffix}_key` }
  await putConfig({ sources: [{ ...source, destinations }] })
  return source
}
