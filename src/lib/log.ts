/**
 * Structured log lines: one JSON object per console line, which Workers Logs
 * (wrangler.toml [observability]) indexes field by field, so a delivery is found
 * by `messageId` (README "Logs"). Only ids and outcomes may go in: never secrets,
 * emails, names or traits. The field list is closed so a caller cannot pass an
 * event by accident.
 */
export interface LogFields {
  msg: string
  source?: string
  messageId?: string
  destination?: string
  reason?: string
  count?: number
  /** An alert of the operations log (its history id), and what became of it. */
  alertId?: number
  outcome?: string
  /** Per destination: one delivery line covers every destination of an event. */
  outcomes?: Record<string, DestinationOutcomeLog>
  /** A batch's outcomes counted: source → destination → status → pairs. */
  tally?: Record<string, Record<string, Record<string, number>>>
  /** Lines left out over a per-invocation cap (the ledger has every outcome). */
  unlogged?: number
}

/** What happened to an event at one destination. */
export interface DestinationOutcomeLog {
  status: string
  reason?: string
  partnerStatus?: number
  attempt: number
}

export function logInfo(fields: LogFields): void {
  console.log(JSON.stringify({ level: 'info', ...fields }))
}

export function logWarn(fields: LogFields): void {
  console.warn(JSON.stringify({ level: 'warn', ...fields }))
}
