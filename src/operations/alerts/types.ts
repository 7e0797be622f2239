/** What raises an incident; the first part of its key. */
export const INCIDENT_KINDS = ['failure_rate', 'pair_failed', 'auto_pause', 'capacity'] as const
export type IncidentKind = (typeof INCIDENT_KINDS)[number]

/** What another part of the router reports: `key` names the incident across reports (`auto_pause:<source>:<destination>`). */
export interface IncidentInput {
  key: string
  kind: IncidentKind
  /** What it concerns, for people: `web:CrowdPower`, `ledger`. */
  target: string
  title: string
  detail: string | null
}

/**
 * `open` · `clearing` (the condition ended; the recovery waits out the quiet
 * period, and a relapse meanwhile is the same incident) · `resolved`.
 */
export type IncidentState = 'open' | 'clearing' | 'resolved'

export interface Incident extends IncidentInput {
  state: IncidentState
  openedAt: number
  clearingSince: number | null
  resolvedAt: number | null
  updatedAt: number
}

/** What a notification announces. */
export type AlertEvent = 'opened' | 'resolved' | 'summary'

/**
 * `pending` (waits for the next cron run) · `sending` · `sent` (every target
 * took it) · `failed` (at least one did not; see `results`) · `summarized`
 * (over the per-minute cap: announced inside the summary alert `summaryId`) ·
 * `no_targets` (none configured).
 */
export type AlertStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'summarized' | 'no_targets'

/** How one target answered: an HTTP status, or the error that stopped the request (timeout, DNS). */
export interface TargetResult {
  target: string
  kind: 'webhook' | 'slack'
  status?: number
  error?: string
}

export interface AlertRecord {
  id: number
  incidentKey: string | null
  kind: IncidentKind | 'summary'
  event: AlertEvent
  title: string
  detail: string | null
  createdAt: number
  status: AlertStatus
  sentAt: number | null
  summaryId: number | null
  results: TargetResult[]
}

/** What an open or resolve call did. */
export type OpenOutcome = 'opened' | 'already_open' | 'relapsed' | 'disabled'
export type ResolveOutcome = 'clearing' | 'resolved' | 'not_open' | 'disabled'
