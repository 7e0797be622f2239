import { DurableObject } from 'cloudflare:workers'
import type { AlertTarget } from '../config/alerts'
import type { Bindings } from '../env'
import { logInfo, logWarn } from '../lib/log'
import { applyMigrations } from '../lib/sqlite-migrations'
import { sendToTargets } from './alerts/send'
import { ALERT_MIGRATIONS, AlertStore } from './alerts/store'
import type { AlertRecord, Incident, IncidentInput, OpenOutcome, ResolveOutcome } from './alerts/types'

/** One operator-visible change: who did what to which target, and when. */
export interface AuditEntry {
  at: number
  /** `admin` (the API), `dashboard`, or `router` for what the router did on its own. */
  actor: string
  /** Dotted verb, e.g. `destination.paused`, `replay.started`. */
  action: string
  /** What it acted on, e.g. `web:Crisp` or a replay id. */
  target: string
  /** A short, secret-free explanation. */
  detail: string | null
}

/** Entries kept; older ones are deleted as new ones arrive, so the list stays bounded. */
const AUDIT_KEPT = 10_000

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     detail TEXT
   )`,
  ...ALERT_MIGRATIONS,
]

/** What sending needs from the config: handed in by the caller, so the object never reads KV. */
export interface DispatchSettings {
  targets: AlertTarget[]
  maxPerMinute: number
  quietMs: number
}

/** What a dispatch did, for the cron run's log line. */
export interface DispatchSummary {
  recovered: number
  sent: number
  failed: number
}

/**
 * The router's operations log: one Durable Object (named `router`) holding the
 * audit list of every state change an operator or the router makes outside the
 * ledger (docs/storage.md, "Operations log").
 */
export class OperationsLog extends DurableObject<Bindings> {
  private readonly sql: SqlStorage
  private readonly alerts: AlertStore
  /** The time of the alert change in progress (the caller's clock), stamped on its audit entries. */
  private changeAt = 0

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    applyMigrations(ctx.storage, MIGRATIONS)
    // Every incident change is an audit entry by the router itself, at the time the change was made.
    this.alerts = new AlertStore(this.sql, (action, target, detail) =>
      this.insertAudit({ at: this.changeAt, actor: 'router', action, target, detail }),
    )
  }

  private inChange<T>(now: number, change: () => T): T {
    return this.ctx.storage.transactionSync(() => {
      this.changeAt = now
      return change()
    })
  }

  openIncident(input: IncidentInput, now: number): OpenOutcome {
    return this.inChange(now, () => this.alerts.open(input, now))
  }

  resolveIncident(key: string, now: number, quietMs: number): ResolveOutcome {
    return this.inChange(now, () => this.alerts.resolve(key, now, quietMs))
  }

  /** Keys of incidents open or clearing, for the evaluator to decide which have ended. */
  unresolvedIncidentKeys(): string[] {
    return this.alerts.unresolvedKeys()
  }

  /** One cron run's findings in one transaction: incidents to open and to resolve. */
  applyFindings(now: number, open: IncidentInput[], resolve: string[], quietMs: number): void {
    this.inChange(now, () => {
      for (const input of open) this.alerts.open(input, now)
      for (const key of resolve) this.alerts.resolve(key, now, quietMs)
    })
  }

  /**
   * Resolves incidents clear for the quiet period, then sends what waits, within
   * the per-minute cap. The outcome of every send is kept in the alert history;
   * a target that fails or hangs is recorded, never thrown.
   */
  async dispatch(now: number, settings: DispatchSettings): Promise<DispatchSummary> {
    const recovered = this.inChange(now, () => this.alerts.finishRecoveries(now, settings.quietMs))
    const claimed = this.inChange(now, () => this.alerts.claim(now, settings.maxPerMinute))
    const outcomes = await Promise.all(
      claimed.map(async (alert: AlertRecord) => ({
        alert,
        ...(await sendToTargets(alert, settings.targets, now)),
      })),
    )
    this.ctx.storage.transactionSync(() => {
      for (const { alert, status, results } of outcomes) this.alerts.complete(alert.id, now, status, results)
    })
    // Ids and outcomes only: a target's URL or secret never reaches a log line.
    for (const { alert, status } of outcomes)
      (status === 'failed' ? logWarn : logInfo)({
        msg: 'alert',
        alertId: alert.id,
        reason: alert.event,
        outcome: status,
      })
    const count = (status: string) => outcomes.filter((outcome) => outcome.status === status).length
    return { recovered, sent: count('sent'), failed: count('failed') }
  }

  /** Open and clearing incidents, and the last `limit` alerts with their delivery results. */
  listAlerts(limit: number): { incidents: Incident[]; alerts: AlertRecord[] } {
    return this.alerts.list(limit)
  }

  appendAudit(entry: AuditEntry): void {
    this.ctx.storage.transactionSync(() => this.insertAudit(entry))
  }

  private insertAudit(entry: AuditEntry): void {
    this.sql.exec(
      'INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)',
      entry.at,
      entry.actor,
      entry.action,
      entry.target,
      entry.detail,
    )
    this.sql.exec('DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?', AUDIT_KEPT)
  }

  /** Newest first; `target` narrows to one target. */
  listAudit(limit: number, target?: string): AuditEntry[] {
    return this.sql
      .exec<AuditEntry & Record<string, SqlStorageValue>>(
        `SELECT at, actor, action, target, detail FROM audit
         ${target === undefined ? '' : 'WHERE target = ?'} ORDER BY id DESC LIMIT ?`,
        ...(target === undefined ? [] : [target]),
        limit,
      )
      .toArray()
  }
}

/** The one operations log of a deployment. */
export function operationsLog(env: Bindings): DurableObjectStub<OperationsLog> {
  return env.OPERATIONS.get(env.OPERATIONS.idFromName('router'))
}

/** Appends to the audit list (every operator action and every automatic state change). */
export async function recordAudit(env: Bindings, entry: AuditEntry): Promise<void> {
  await operationsLog(env).appendAudit(entry)
}

export async function listAudit(env: Bindings, limit: number, target?: string): Promise<AuditEntry[]> {
  return operationsLog(env).listAudit(limit, target)
}
