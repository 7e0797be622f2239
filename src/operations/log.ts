import { DurableObject } from 'cloudflare:workers'
import type { Bindings } from '../env'

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
]

/**
 * The router's operations log: one Durable Object (named `router`) holding the
 * audit list of every state change an operator or the router makes outside the
 * ledger (docs/storage.md, "Operations log").
 */
export class OperationsLog extends DurableObject<Bindings> {
  private readonly sql: SqlStorage

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    ctx.storage.transactionSync(() => {
      this.sql.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
      const applied =
        this.sql.exec<{ version: number }>('SELECT version FROM schema_version').toArray()[0]?.version ?? 0
      for (const [index, migration] of MIGRATIONS.entries()) if (index >= applied) this.sql.exec(migration)
      this.sql.exec('DELETE FROM schema_version')
      this.sql.exec('INSERT INTO schema_version (version) VALUES (?)', MIGRATIONS.length)
    })
  }

  appendAudit(entry: AuditEntry): void {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        'INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)',
        entry.at,
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
      )
      this.sql.exec('DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?', AUDIT_KEPT)
    })
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
