/**
 * Structured log lines. Only ids and outcomes may go in: never secrets, emails,
 * names or traits. The field list is closed so a caller cannot pass an event by accident.
 */
export interface LogFields {
  msg: string
  source?: string
  messageId?: string
  destination?: string
  status?: string
  reason?: string
  attempt?: number
  partnerStatus?: number
  count?: number
  ms?: number
}

export function logInfo(fields: LogFields): void {
  console.log(JSON.stringify({ level: 'info', ...fields }))
}

export function logWarn(fields: LogFields): void {
  console.warn(JSON.stringify({ level: 'warn', ...fields }))
}
