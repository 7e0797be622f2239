import type { RouterConfig } from '../config/schema'
import { loadConfig } from '../config/store'
import type { Bindings } from '../env'
import type { Clock } from '../lib/clock'
import { RouterError } from '../lib/errors'
import { autoPauseKey, resolveIncident } from './alerts/incidents'
import { destinationGate, type GateStatus, gateName } from './gate'
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
      id: gateName(source, destination),
      source,
      destination,
      enabled: settings.enabled,
      rateLimit: settings.rateLimit,
      pauseAfterAuthFailures: settings.pauseAfterAuthFailures,
      gate: await destinationGate(env, source, destination).status(now),
    })),
  )
}

/** The source and destination an id names, when both are configured. */
function findConfigured(config: RouterConfig, id: string): { source: string; destination: string } {
  const colon = id.indexOf(':')
  const source = config.sources.find((candidate) => candidate.name === id.slice(0, colon))
  const destination = id.slice(colon + 1)
  if (colon < 0 || !source || !Object.hasOwn(source.destinations, destination))
    throw new RouterError(
      404,
      'unknown_destination',
      `no configured destination "${id}" (ids are <source>:<destination>)`,
    )
  return { source: source.name, destination }
}

/** Pauses a destination: its pairs are parked from now on, none is sent or retried. */
export async function pauseDestination(
  env: Bindings,
  id: string,
  actor: string,
  reason: string | undefined,
  clock: Clock,
): Promise<GateStatus> {
  const { source, destination } = findConfigured(await loadConfig(env), id)
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

/** Lets a destination's pairs go again; what was parked waits for a replay of its paused pairs. */
export async function resumeGate(
  env: Bindings,
  id: string,
  actor: string,
  clock: Clock,
): Promise<GateStatus> {
  const { source, destination } = findConfigured(await loadConfig(env), id)
  const now = clock.now()
  const { status, changed } = await destinationGate(env, source, destination).resume(now)
  if (changed) {
    await recordAudit(env, { at: now, actor, action: 'destination.resumed', target: id, detail: null })
    await resolveIncident(env, autoPauseKey(source, destination), now)
  }
  return status
}
