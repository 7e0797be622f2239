import type { AlertsConfig } from '../../config/alerts'
import { loadConfig } from '../../config/store'
import type { Bindings } from '../../env'
import { type DispatchSettings, operationsLog } from '../log'
import type { AlertRecord, Incident, IncidentInput, IncidentKind, OpenOutcome, ResolveOutcome } from './types'

export type { IncidentInput, IncidentKind, OpenOutcome, ResolveOutcome }

const MINUTE_MS = 60_000

/** The key of an automatic pause's incident, as the destination gate reports it. */
export function autoPauseKey(source: string, destination: string): string {
  return `auto_pause:${source}:${destination}`
}

/** Whether the config asks for this kind of incident at all (no `alerts` object: none). */
export function ruleEnabled(alerts: AlertsConfig | undefined, kind: IncidentKind): boolean {
  if (!alerts) return false
  const rules = alerts.rules
  const rule = {
    failure_rate: rules.failureRate,
    pair_failed: rules.pairFailed,
    auto_pause: rules.autoPause,
    capacity: rules.capacity,
  }[kind]
  return rule.enabled
}

export function dispatchSettings(alerts: AlertsConfig): DispatchSettings {
  return {
    targets: alerts.targets,
    maxPerMinute: alerts.maxPerMinute,
    quietMs: alerts.quietMinutes * MINUTE_MS,
  }
}

/**
 * Reports that an incident's condition holds. Idempotent: only a transition
 * (nothing or resolved → open) queues an alert; reporting an open incident
 * again, or one that relapses within the quiet period, sends nothing. The alert
 * leaves with the next cron run (within a minute): this call is one write to
 * the operations log and never waits on a target.
 */
export async function openIncident(env: Bindings, input: IncidentInput, now: number): Promise<OpenOutcome> {
  const { alerts } = await loadConfig(env)
  if (!ruleEnabled(alerts, input.kind)) return 'disabled'
  return operationsLog(env).openIncident(input, now)
}

/**
 * Reports that an incident's condition has ended. Idempotent: the recovery is
 * queued once, when the incident has stayed clear for `quietMinutes` (at once
 * when that is 0); resolving what is not open does nothing.
 */
export async function resolveIncident(env: Bindings, key: string, now: number): Promise<ResolveOutcome> {
  const { alerts } = await loadConfig(env)
  if (!alerts) return 'disabled'
  return operationsLog(env).resolveIncident(key, now, alerts.quietMinutes * MINUTE_MS)
}

/** What GET /admin/alerts and the dashboard show. */
export async function listAlerts(
  env: Bindings,
  limit: number,
): Promise<{ incidents: Incident[]; alerts: AlertRecord[] }> {
  return operationsLog(env).listAlerts(limit)
}
