import { env } from 'cloudflare:workers'
import type { LedgerRow } from '../../src/delivery/ledger'

export type { LedgerRow }

const SETTLED = new Set(['delivered', 'dropped', 'failed'])

export interface WaitOptions {
  /** Rows expected (one per routed destination); waits until that many have settled. */
  rows: number
  /** Also accept rows in these statuses as settled (e.g. 'retrying' when a test expects a retry). */
  alsoSettled?: LedgerRow['status'][]
  timeoutMs?: number
}

/**
 * Polls the real D1 ledger until the events with these messageIds have the
 * expected number of settled rows, then returns all their rows.
 */
export async function waitForLedger(messageIds: string[], options: WaitOptions): Promise<LedgerRow[]> {
  const settled = new Set([...SETTLED, ...(options.alsoSettled ?? [])])
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  const placeholders = messageIds.map(() => '?').join(',')
  for (;;) {
    const { results } = await env.LEDGER.prepare(
      `SELECT * FROM deliveries WHERE message_id IN (${placeholders}) ORDER BY message_id, destination`,
    )
      .bind(...messageIds)
      .all<LedgerRow>()
    const done = results.filter((row) => settled.has(row.status)).length
    if (done >= options.rows) return results
    if (Date.now() > deadline) {
      throw new Error(
        `ledger did not settle: ${JSON.stringify(results.map((r) => [r.message_id, r.destination, r.status]))}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
