import { DurableObject } from 'cloudflare:workers'
import type { Bindings } from '../env'
import type { LedgerStatus } from '../ledger/state'
import type { DeliveryFilter, ReplayCount, ReplayPosition } from '../ledger/types'
import { systemClock } from '../lib/clock'
import { logInfo, logWarn } from '../lib/log'
import { applyMigrations } from '../lib/sqlite-migrations'
import { recordAudit } from '../operations/log'
import { replayPage } from './replay-page'

/** A job takes one page per tick: at most `rate × TICK_MS / 1000` pairs. */
export const REPLAY_TICK_MS = 1000
/** Consecutive failed pages (ledger or queue down) after which a job gives up as `failed`. */
const MAX_FAILURES = 5
/** Finished jobs kept; older ones are deleted as new ones start, so the table stays small. */
const JOBS_KEPT = 1000

export type ReplayJobState = 'running' | 'done' | 'cancelled' | 'failed'

/** What a job is asked to do, fixed when it starts. */
export interface ReplayJobSpec {
  /** Also the owner of every pair it takes in the ledger. */
  id: string
  actor: string
  /** Bounded to pairs last changed before the job started (`until`), so it resends what its plan counted. */
  filter: DeliveryFilter
  statuses: readonly LedgerStatus[]
  /** Pairs per second. */
  rate: number
  /** The plan's counts per destination, when the job started. */
  planned: ReplayCount[]
}

/** A job as the admin API and the dashboard show it. */
export interface ReplayJob extends ReplayJobSpec {
  state: ReplayJobState
  createdAt: number
  updatedAt: number
  finishedAt: number | null
  cancelledBy: string | null
  /** Pairs taken from the ledger (all queued unless the queue refused, then given back). */
  queued: number
  queuedByDestination: Record<string, number>
  /** Candidates not taken, by why (`event_not_kept`, `status_retrying`, …). */
  skipped: Record<string, number>
  pages: number
  /** The last failed page's error, while the job retries it. */
  lastError: string | null
}

interface JobRow extends Record<string, SqlStorageValue> {
  id: string
  actor: string
  created_at: number
  updated_at: number
  finished_at: number | null
  state: string
  filter: string
  statuses: string
  rate: number
  planned: string
  cursor: string | null
  queued: number
  queued_by_destination: string
  skipped: string
  pages: number
  failures: number
  last_error: string | null
  next_page_at: number
  cancelled_by: string | null
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     actor TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     finished_at INTEGER,
     state TEXT NOT NULL,
     filter TEXT NOT NULL,
     statuses TEXT NOT NULL,
     rate INTEGER NOT NULL,
     planned TEXT NOT NULL,
     cursor TEXT,
     queued INTEGER NOT NULL DEFAULT 0,
     queued_by_destination TEXT NOT NULL DEFAULT '{}',
     skipped TEXT NOT NULL DEFAULT '{}',
     pages INTEGER NOT NULL DEFAULT 0,
     failures INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     next_page_at INTEGER NOT NULL,
     cancelled_by TEXT
   );
   CREATE INDEX jobs_running ON jobs (next_page_at) WHERE state = 'running';
   CREATE INDEX jobs_by_time ON jobs (created_at);`,
]

function toJob(row: JobRow): ReplayJob {
  return {
    id: row.id,
    actor: row.actor,
    filter: JSON.parse(row.filter) as DeliveryFilter,
    statuses: JSON.parse(row.statuses) as LedgerStatus[],
    rate: row.rate,
    planned: JSON.parse(row.planned) as ReplayCount[],
    state: row.state as ReplayJobState,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    cancelledBy: row.cancelled_by,
    queued: row.queued,
    queuedByDestination: JSON.parse(row.queued_by_destination) as Record<string, number>,
    skipped: JSON.parse(row.skipped) as Record<string, number>,
    pages: row.pages,
    lastError: row.last_error,
  }
}

function addCounts(counts: Record<string, number>, keys: readonly string[]): Record<string, number> {
  const sum = { ...counts }
  for (const key of keys) sum[key] = (sum[key] ?? 0) + 1
  return sum
}

/**
 * Replay jobs (docs/storage.md, "Replay jobs"): one Durable Object named
 * `router` holding every job, paced by its alarm. Each tick takes the next page
 * of each running job (oldest events first, after where the last page stopped)
 * and queues it through the same path as an immediate replay (replay-page.ts).
 * A job moves past every pair once: a pair that fails again is not taken again by it.
 */
export class ReplayRunner extends DurableObject<Bindings> {
  private readonly sql: SqlStorage
  /** Jobs whose page is being taken now (an alarm and a test's tick must not take the same page twice). */
  private readonly paging = new Set<string>()

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    applyMigrations(ctx.storage, MIGRATIONS)
  }

  /** Records a new running job; its first page is taken at once (by the alarm). */
  async start(spec: ReplayJobSpec, now: number): Promise<ReplayJob> {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO jobs (id, actor, created_at, updated_at, state, filter, statuses, rate, planned, next_page_at)
         VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
        spec.id,
        spec.actor,
        now,
        now,
        JSON.stringify(spec.filter),
        JSON.stringify(spec.statuses),
        spec.rate,
        JSON.stringify(spec.planned),
        now,
      )
      this.sql.exec(
        `DELETE FROM jobs WHERE state != 'running' AND id NOT IN
           (SELECT id FROM jobs ORDER BY created_at DESC LIMIT ?)`,
        JOBS_KEPT,
      )
    })
    await this.schedule()
    return this.require(spec.id)
  }

  get(id: string): ReplayJob | null {
    const row = this.sql.exec<JobRow>('SELECT * FROM jobs WHERE id = ?', id).toArray()[0]
    return row ? toJob(row) : null
  }

  /** Newest first. */
  list(limit: number): ReplayJob[] {
    return this.sql
      .exec<JobRow>('SELECT * FROM jobs ORDER BY created_at DESC, id LIMIT ?', limit)
      .toArray()
      .map(toJob)
  }

  /**
   * Stops a running job before its next page; pairs already queued are still
   * delivered. `cancelled` is false when the job had already ended (then unchanged).
   */
  async cancel(
    id: string,
    actor: string,
    now: number,
  ): Promise<{ job: ReplayJob; cancelled: boolean } | null> {
    const { rowsWritten } = this.sql.exec(
      `UPDATE jobs SET state = 'cancelled', cancelled_by = ?, finished_at = ?, updated_at = ?
       WHERE id = ? AND state = 'running'`,
      actor,
      now,
      now,
      id,
    )
    const job = this.get(id)
    if (!job) return null
    if (rowsWritten > 0) await this.schedule()
    return { job, cancelled: rowsWritten > 0 }
  }

  /** Takes one page of every running job that is due at `now`; returns how many jobs it paged. */
  async runDue(now: number): Promise<number> {
    const due = this.sql
      .exec<JobRow>(
        "SELECT * FROM jobs WHERE state = 'running' AND next_page_at <= ? ORDER BY created_at",
        now,
      )
      .toArray()
    let paged = 0
    for (const row of due) {
      if (this.paging.has(row.id)) continue
      this.paging.add(row.id)
      try {
        await this.page(row, now)
        paged += 1
      } finally {
        this.paging.delete(row.id)
      }
    }
    await this.schedule()
    return paged
  }

  override async alarm(): Promise<void> {
    await this.runDue(systemClock.now())
  }

  private async page(row: JobRow, now: number): Promise<void> {
    const job = toJob(row)
    const limit = Math.max(1, Math.floor((job.rate * REPLAY_TICK_MS) / 1000))
    const after = row.cursor === null ? undefined : (JSON.parse(row.cursor) as ReplayPosition)
    let result: Awaited<ReturnType<typeof replayPage>>
    try {
      result = await replayPage(
        this.env,
        { filter: job.filter, statuses: job.statuses, ...(after && { after }) },
        limit,
        job.id,
        now,
      )
    } catch (error) {
      await this.pageFailed(row, (error as Error).message, now)
      return
    }
    // Progress only: a cancel that arrived while the page was queued keeps its state.
    this.sql.exec(
      `UPDATE jobs SET cursor = ?, queued = queued + ?, queued_by_destination = ?, skipped = ?, pages = pages + 1,
         failures = 0, last_error = NULL, next_page_at = ?, updated_at = ? WHERE id = ?`,
      JSON.stringify(result.last ?? after ?? null),
      result.taken.length,
      JSON.stringify(
        addCounts(
          job.queuedByDestination,
          result.taken.map((pair) => pair.destination),
        ),
      ),
      JSON.stringify(
        addCounts(
          job.skipped,
          result.skipped.map((pair) => pair.reason),
        ),
      ),
      now + REPLAY_TICK_MS,
      now,
      job.id,
    )
    logInfo({ msg: 'replay page queued', reason: job.id, count: result.taken.length })
    if (result.exhausted) await this.finish(job.id, 'done', now)
  }

  private async pageFailed(row: JobRow, message: string, now: number): Promise<void> {
    const failures = row.failures + 1
    logWarn({ msg: 'replay page failed', reason: `${row.id}: ${message}` })
    // Backs off 2, 4, 8, 16 s: the ledger or the queue is down, nothing is lost by waiting.
    this.sql.exec(
      'UPDATE jobs SET failures = ?, last_error = ?, next_page_at = ?, updated_at = ? WHERE id = ?',
      failures,
      message.slice(0, 300),
      now + REPLAY_TICK_MS * 2 ** failures,
      now,
      row.id,
    )
    if (failures >= MAX_FAILURES) await this.finish(row.id, 'failed', now)
  }

  /** Ends a running job (not one cancelled meanwhile) and says so in the audit list. */
  private async finish(id: string, state: 'done' | 'failed', now: number): Promise<void> {
    const { rowsWritten } = this.sql.exec(
      "UPDATE jobs SET state = ?, finished_at = ?, updated_at = ? WHERE id = ? AND state = 'running'",
      state,
      now,
      now,
      id,
    )
    const job = this.get(id)
    if (rowsWritten === 0 || !job) return
    const skipped = Object.entries(job.skipped).map(([reason, count]) => `${reason} ${count}`)
    const detail =
      `${state}: queued ${job.queued}` +
      (skipped.length > 0 ? `, skipped ${skipped.join(', ')}` : '') +
      (state === 'failed' ? ` (last error: ${job.lastError ?? 'unknown'})` : '')
    await auditBestEffort(this.env, {
      at: now,
      actor: 'router',
      action: 'replay.finished',
      target: id,
      detail,
    })
  }

  /** The alarm at the next due page of any running job, or none. */
  private async schedule(): Promise<void> {
    const next = this.sql
      .exec<{ at: number | null }>("SELECT min(next_page_at) AS at FROM jobs WHERE state = 'running'")
      .toArray()[0]?.at
    if (next === null || next === undefined) await this.ctx.storage.deleteAlarm()
    else await this.ctx.storage.setAlarm(next)
  }

  private require(id: string): ReplayJob {
    const job = this.get(id)
    if (!job) throw new Error(`replay job ${id} vanished`)
    return job
  }
}

/**
 * The audit list is told of every job's start, cancel and end. A job already
 * started (or cancelled) is not undone when that write fails: it is logged, and
 * the jobs table keeps who and when regardless.
 */
export async function auditBestEffort(
  env: Bindings,
  entry: Parameters<typeof recordAudit>[1],
): Promise<void> {
  try {
    await recordAudit(env, entry)
  } catch (error) {
    logWarn({
      msg: 'audit write failed',
      reason: `${entry.action} ${entry.target}: ${(error as Error).message}`,
    })
  }
}
