import type {
  AlertEvent,
  AlertRecord,
  AlertStatus,
  Incident,
  IncidentInput,
  OpenOutcome,
  ResolveOutcome,
  TargetResult,
} from './types'

/** Tables of the operations log that hold alerts (docs/storage.md, "Operations log"); appended to its migrations. */
export const ALERT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE incidents (
     key TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     target TEXT NOT NULL,
     title TEXT NOT NULL,
     detail TEXT,
     state TEXT NOT NULL,
     opened_at INTEGER NOT NULL,
     clearing_since INTEGER,
     resolved_at INTEGER,
     updated_at INTEGER NOT NULL
   )`,
  `CREATE TABLE alerts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     incident_key TEXT,
     kind TEXT NOT NULL,
     event TEXT NOT NULL,
     title TEXT NOT NULL,
     detail TEXT,
     created_at INTEGER NOT NULL,
     status TEXT NOT NULL,
     claimed_at INTEGER,
     sent_at INTEGER,
     summary_id INTEGER,
     results TEXT
   )`,
  'CREATE INDEX alerts_by_status ON alerts (status, id)',
]

/** Alerts kept in the history; older ones are deleted as new ones arrive. */
const ALERTS_KEPT = 1_000
/** Resolved incidents are forgotten after this (their alerts and audit entries stay). */
const RESOLVED_KEPT_MS = 30 * 24 * 60 * 60 * 1000
/** A send that never completed (the object restarted mid-request) is tried again after this. */
const SENDING_STALE_MS = 5 * 60 * 1000
const MINUTE_MS = 60_000
/** Titles listed in a summary; the rest are counted. */
const SUMMARY_TITLES = 20

/** An audit entry as the store reports it; the operations log adds who and when. */
export type AuditNote = (action: string, target: string, detail: string | null) => void

type Row = Record<string, SqlStorageValue>

interface IncidentRow extends Row {
  key: string
  kind: string
  target: string
  title: string
  detail: string | null
  state: string
  opened_at: number
  clearing_since: number | null
  resolved_at: number | null
  updated_at: number
}

interface AlertRow extends Row {
  id: number
  incident_key: string | null
  kind: string
  event: string
  title: string
  detail: string | null
  created_at: number
  status: string
  sent_at: number | null
  summary_id: number | null
  results: string | null
}

/**
 * Incidents and the alerts they raise, in the operations log's SQLite. Every
 * method is synchronous, so each runs inside one transaction of the caller's.
 * A notification is queued only on a transition: opened (from nothing or
 * resolved) and resolved (after the quiet period); anything else changes the
 * incident without a word.
 */
export class AlertStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly audit: AuditNote,
  ) {}

  open(input: IncidentInput, now: number): OpenOutcome {
    const current = this.incident(input.key)
    if (current?.state === 'open') {
      // Same incident, newer numbers: shown on the dashboard, not announced again.
      this.sql.exec(
        'UPDATE incidents SET detail = ?, updated_at = ? WHERE key = ?',
        input.detail,
        now,
        input.key,
      )
      return 'already_open'
    }
    if (current?.state === 'clearing') {
      this.sql.exec(
        `UPDATE incidents SET state = 'open', clearing_since = NULL, title = ?, detail = ?, updated_at = ?
         WHERE key = ?`,
        input.title,
        input.detail,
        now,
        input.key,
      )
      this.audit(
        'alert.relapsed',
        input.key,
        'again within the quiet period: the same incident, no new alert',
      )
      return 'relapsed'
    }
    this.sql.exec(
      `INSERT OR REPLACE INTO incidents
         (key, kind, target, title, detail, state, opened_at, clearing_since, resolved_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'open', ?, NULL, NULL, ?)`,
      input.key,
      input.kind,
      input.target,
      input.title,
      input.detail,
      now,
      now,
    )
    this.audit('alert.opened', input.key, input.title)
    this.queue(input.key, input.kind, 'opened', input.title, input.detail, now)
    return 'opened'
  }

  /** `quietMs` 0 resolves at once; otherwise the incident clears and `finishRecoveries` resolves it. */
  resolve(key: string, now: number, quietMs: number): ResolveOutcome {
    const current = this.incident(key)
    if (current?.state === 'clearing') return 'clearing'
    if (current?.state !== 'open') return 'not_open'
    if (quietMs === 0) {
      this.finish(current, now)
      return 'resolved'
    }
    this.sql.exec(
      `UPDATE incidents SET state = 'clearing', clearing_since = ?, updated_at = ? WHERE key = ?`,
      now,
      now,
      key,
    )
    this.audit(
      'alert.clearing',
      key,
      'condition ended; recovery is sent once it stays clear for the quiet period',
    )
    return 'clearing'
  }

  /** Resolves every incident clear for the quiet period, queueing its recovery; returns how many. */
  finishRecoveries(now: number, quietMs: number): number {
    const due = this.sql
      .exec<IncidentRow>(
        `SELECT * FROM incidents WHERE state = 'clearing' AND clearing_since <= ? ORDER BY clearing_since`,
        now - quietMs,
      )
      .toArray()
    for (const row of due) this.finish(row, now)
    this.sql.exec(
      `DELETE FROM incidents WHERE state = 'resolved' AND resolved_at < ?`,
      now - RESOLVED_KEPT_MS,
    )
    return due.length
  }

  /** Keys of incidents not yet resolved (open or clearing). */
  unresolvedKeys(): string[] {
    return this.sql
      .exec<{ key: string }>(`SELECT key FROM incidents WHERE state != 'resolved' ORDER BY key`)
      .toArray()
      .map((row) => row.key)
  }

  /**
   * Takes the alerts to send now, marking them `sending`. At most `maxPerMinute`
   * go out in any minute: when more wait than the minute has room for, all but
   * one slot go singly and the rest are folded into one summary alert.
   */
  claim(now: number, maxPerMinute: number): AlertRecord[] {
    const sentLastMinute =
      this.sql
        .exec<{ count: number }>(
          `SELECT count(*) AS count FROM alerts WHERE sent_at > ? AND status IN ('sent', 'failed')`,
          now - MINUTE_MS,
        )
        .toArray()[0]?.count ?? 0
    const room = maxPerMinute - sentLastMinute
    if (room <= 0) return []
    const waiting = this.sql
      .exec<AlertRow>(
        `SELECT * FROM alerts WHERE status = 'pending' OR (status = 'sending' AND claimed_at < ?) ORDER BY id`,
        now - SENDING_STALE_MS,
      )
      .toArray()
    if (waiting.length === 0) return []
    const single = waiting.length <= room ? waiting : waiting.slice(0, room - 1)
    const folded = waiting.slice(single.length)
    const claimed = single.map((row) => row.id)
    if (folded.length > 0) {
      const summaryId = this.queue(
        null,
        'summary',
        'summary',
        summaryTitle(folded.length),
        summaryDetail(folded),
        now,
      )
      for (const row of folded)
        this.sql.exec(
          `UPDATE alerts SET status = 'summarized', summary_id = ? WHERE id = ?`,
          summaryId,
          row.id,
        )
      claimed.push(summaryId)
    }
    for (const id of claimed)
      this.sql.exec(`UPDATE alerts SET status = 'sending', claimed_at = ? WHERE id = ?`, now, id)
    return claimed.flatMap((id) => {
      const row = this.sql.exec<AlertRow>('SELECT * FROM alerts WHERE id = ?', id).toArray()[0]
      return row ? [toAlert(row)] : []
    })
  }

  complete(id: number, now: number, status: AlertStatus, results: TargetResult[]): void {
    this.sql.exec(
      'UPDATE alerts SET status = ?, sent_at = ?, results = ? WHERE id = ?',
      status,
      now,
      JSON.stringify(results),
      id,
    )
  }

  /** Incidents not yet resolved, newest first, and the last `limit` alerts, newest first. */
  list(limit: number): { incidents: Incident[]; alerts: AlertRecord[] } {
    const incidents = this.sql
      .exec<IncidentRow>(`SELECT * FROM incidents WHERE state != 'resolved' ORDER BY opened_at DESC, key`)
      .toArray()
      .map(toIncident)
    const alerts = this.sql
      .exec<AlertRow>('SELECT * FROM alerts ORDER BY id DESC LIMIT ?', limit)
      .toArray()
      .map(toAlert)
    return { incidents, alerts }
  }

  private incident(key: string): IncidentRow | undefined {
    return this.sql.exec<IncidentRow>('SELECT * FROM incidents WHERE key = ?', key).toArray()[0]
  }

  private finish(row: IncidentRow, now: number): void {
    this.sql.exec(
      `UPDATE incidents SET state = 'resolved', resolved_at = ?, clearing_since = NULL, updated_at = ? WHERE key = ?`,
      now,
      now,
      row.key,
    )
    this.audit('alert.resolved', row.key, row.title)
    this.queue(row.key, row.kind, 'resolved', `Resolved: ${row.title}`, row.detail, now)
  }

  private queue(
    key: string | null,
    kind: string,
    event: AlertEvent,
    title: string,
    detail: string | null,
    now: number,
  ): number {
    const id = this.sql
      .exec<{ id: number }>(
        `INSERT INTO alerts (incident_key, kind, event, title, detail, created_at, status)
         VALUES (?, ?, ?, ?, ?, ?, 'pending') RETURNING id`,
        key,
        kind,
        event,
        title,
        detail,
        now,
      )
      .one().id
    this.sql.exec('DELETE FROM alerts WHERE id <= ? - ?', id, ALERTS_KEPT)
    return id
  }
}

function summaryTitle(count: number): string {
  return `${count} more alert${count === 1 ? '' : 's'} this minute (held back: at most maxPerMinute are sent singly)`
}

function summaryDetail(rows: AlertRow[]): string {
  const titles = rows.slice(0, SUMMARY_TITLES).map((row) => `• ${row.title}`)
  if (rows.length > SUMMARY_TITLES)
    titles.push(`• … and ${rows.length - SUMMARY_TITLES} more (see /admin/alerts)`)
  return titles.join('\n')
}

function toIncident(row: IncidentRow): Incident {
  return {
    key: row.key,
    kind: row.kind as Incident['kind'],
    target: row.target,
    title: row.title,
    detail: row.detail,
    state: row.state as Incident['state'],
    openedAt: row.opened_at,
    clearingSince: row.clearing_since,
    resolvedAt: row.resolved_at,
    updatedAt: row.updated_at,
  }
}

function toAlert(row: AlertRow): AlertRecord {
  return {
    id: row.id,
    incidentKey: row.incident_key,
    kind: row.kind as AlertRecord['kind'],
    event: row.event as AlertEvent,
    title: row.title,
    detail: row.detail,
    createdAt: row.created_at,
    status: row.status as AlertStatus,
    sentAt: row.sent_at,
    summaryId: row.summary_id,
    results: row.results === null ? [] : (JSON.parse(row.results) as TargetResult[]),
  }
}
