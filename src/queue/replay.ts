import type { Bindings } from '../env'
import { Ledger } from '../ledger/ledger'
import type { DeliveryFilter, PairKey, ReplaySkip } from '../ledger/types'
import type { Clock } from '../lib/clock'
import { logInfo } from '../lib/log'
import type { SegmentEvent } from '../segment/schema'
import { enqueueEvents } from './produce'

/** Exact pairs, or every failed/dropped pair matching a filter (an empty filter matches all). */
export interface ReplayRequest {
  pairs?: PairKey[]
  filter?: DeliveryFilter
  limit: number
}

export interface ReplayResult {
  replayId: string
  replayed: number
  skipped: ReplaySkip[]
}

function pairId(pair: PairKey): string {
  return `${pair.source}\u0000${pair.messageId}\u0000${pair.destination}`
}

/**
 * Queues failed or dropped pairs again (POST /admin/replay and the dashboard's
 * replay button). The ledger takes each pair for the replay before it is
 * queued, so a pair already being replayed or delivered is skipped, with why;
 * if the queue refuses, the pairs are given back as they were.
 */
export async function replayDeliveries(
  env: Bindings,
  request: ReplayRequest,
  clock: Clock,
): Promise<ReplayResult> {
  const ledger = new Ledger(env)
  const replayId = `replay-${crypto.randomUUID()}`
  const now = clock.now()
  const { taken, skipped } = await ledger.takeForReplay(request, request.limit, replayId, now)
  const seen = new Set([...taken, ...skipped].map(pairId))
  for (const pair of request.pairs ?? [])
    if (!seen.has(pairId(pair))) skipped.push({ ...pair, reason: 'not_found' })
  try {
    // One message group per (source, destination): `only` then names exactly the destination replayed.
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
    await ledger.releaseReplay(taken, replayId, clock.now())
    throw error
  }
  logInfo({ msg: 'replay queued', count: taken.length })
  return { replayId, replayed: taken.length, skipped }
}
