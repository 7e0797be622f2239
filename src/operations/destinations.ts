import { destinationId, parseDestinationId } from '../config/destination-id'
import type { RouterConfig } from '../config/schema'
import { loadConfig } from '../config/store'
import type { Bindings } from '../env'
import type { Clock } from '../lib/clock'
import { autoPauseKey, resolveIncident } from './alerts/incidents'
import { destinationGate, type GateStatus } from './gate'
import { recordAudit } from './log'

/** One destination of one source as GET /admin/destinations shows it. */
export interface DestinationView {
  id: string
  source: string
  destination: string
  enabled: boolean
  rateLimit: { requests: number; perSeconds: number } | null
  pauseAfterAuthFailures: number
  gate: GateStatus
}

/** Every configured destination with its gate's state (one gate call each, in parallel). */
export async function listDestinations(
  env: Bindings,
  config: RouterConfig,
  now: number,
): Promise<DestinationView[]> {
  const entries = config.sources.flatMap((source) =>
    Object.entries(source.destinations).map(([destination, settings]) => ({
      source: source.name,
      destination,
      settings,
    })),
  )
  return Promise.all(
    entries.map(async ({ source, destination, settings }) => ({
      id: destinationId(source, destination),
      source,
      destination,
      enabled: settings.enabled,
      rateLimit: settings.rateLimit,
      pauseAfterAuthFailures: settings.pauseAfterAuthFailures,
      gate: await destinationGate(env, source, destination).status(now),
    })),
  )
}

/** Pauses a destination: its pairs are parked from now on, none is sent or retried. */
export async function pauseDestination(
  env: Bindings,
  id: string,
  actor: string,
  reason: string | undefined,
  clock: Clock,
): Promise<GateStatus> {
  const {
    source: { name: source },
    destination,
  } = parseDestinationId(id, await loadConfig(env))
  const now = clock.now()
  const { status, changed } = await destinationGate(env, source, destination).pause(
    now,
    actor,
    reason ?? 'paused by an operator',
  )
  if (changed)
    await recordAudit(env, {
      at: now,
      actor,
      action: 'destination.paused',
      target: id,
      detail: reason ?? null,
    })
  return status
}

/** Lets a destination's pairs go again; what was parked waits for a replay of its paused pairs (queue/replay.ts). */
export async function resumeGate(
  env: Bindings,
  id: string,
  actor: string,
  clock: Clock,
): Promise<{ source: string; destination: string; gate: GateStatus }> {
  const {
    source: { name: source },
    destination,
  } = parseDestinationId(id, await loadConfig(env))
  const now = clock.now()
  const { status, changed } = await destinationGate(env, source, destination).resume(now)
  if (changed) {
    await recordAudit(env, { at: now, actor, action: 'destination.resumed', target: id, detail: null })
    await resolveIncident(env, autoPauseKey(source, destination), now)
  }
  return { source, destination, gate: status }
}
