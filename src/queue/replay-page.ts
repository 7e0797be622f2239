import type { Bindings } from '../env'
import { Ledger } from '../ledger/ledger'
import type { ReplayPosition, ReplaySelection, ReplaySkip, ReplayTaken } from '../ledger/types'
import type { SegmentEvent } from '../segment/schema'
import { enqueueEvents } from './produce'

export interface ReplayPageResult {
  taken: ReplayTaken[]
  skipped: ReplaySkip[]
  /** With a filter: where this page stopped in original order (null when it found nothing). */
  last: ReplayPosition | null
  /** With a filter: fewer candidates than the limit were left, so nothing follows this page. */
  exhausted: boolean
}

/**
 * The one way a replay resends pairs, for exact pairs (POST /admin/replay, the
 * dashboard's button) and for each page of a replay job: the ledger takes up to
 * `limit` pairs under `replayId` (so a pair another replay holds, or one in a
 * status not asked for, is skipped with why), then they are queued, one message
 * group per (source, destination) with `only` naming that destination. If the
 * queue refuses, every pair of the page is given back as it was.
 */
export async function replayPage(
  env: Bindings,
  selection: ReplaySelection,
  limit: number,
  replayId: string,
  now: number,
): Promise<ReplayPageResult> {
  const ledger = new Ledger(env)
  const { taken, skipped, last, candidates } = await ledger.takeForReplay(selection, limit, replayId, now)
  try {
    const groups = Map.groupBy(taken, (pair) => `${pair.source}\u0000${pair.destination}`)
    for (const group of groups.values()) {
      const [first] = group
      if (!first) continue
      const events = group.map((pair) => JSON.parse(pair.body) as SegmentEvent)
      await enqueueEvents(env.DELIVERY_QUEUE, first.source, events, {
        ingestId: replayId,
        only: [first.destination],
      })
    }
  } catch (error) {
    await ledger.releaseReplay(taken, replayId, now)
    throw error
  }
  return { taken, skipped, last, exhausted: candidates < limit }
}
