import type { DestinationConfig } from '../config/schema'
import type { DeliveryItem, DestinationDefinition } from '../destinations/types'
import type { Bindings } from '../env'
import type { AttemptOutcome } from '../ledger/state'
import type { Clock } from '../lib/clock'
import { logWarn } from '../lib/log'
import type { SegmentEvent } from '../segment/schema'
import type { SubrequestBudget } from './budget'
import { createDeliveryContext, type PartnerExchange } from './context'

/** One (event, destination) pair to hand to its destination now. */
export interface DueDelivery {
  source: string
  destination: string
  definition: DestinationDefinition<unknown>
  config: DestinationConfig
  /** The event as this destination gets it. */
  event: SegmentEvent
  /** 1 on the first try. */
  attempt: number
}

/** Identifies first, so a track in the same batch finds the user its identify just created. */
function callOrder(event: SegmentEvent): number {
  return event.type === 'identify' ? 0 : 1
}

const missingOutcome: AttemptOutcome = { status: 'retry', error: 'destination_returned_no_outcome' }

/**
 * Hands every due pair to its destination, one `deliver` call per (source,
 * destination) so each call uses that source's settings and partner state, all
 * in parallel. Returns one outcome per pair, in the order given.
 */
export async function deliverDue(
  env: Bindings,
  due: readonly DueDelivery[],
  budget: SubrequestBudget,
  clock: Clock,
  /** Sees every partner exchange (the destination gates count them). */
  observe?: (exchange: PartnerExchange) => void,
): Promise<AttemptOutcome[]> {
  const outcomes: AttemptOutcome[] = due.map(() => missingOutcome)
  const indexed = due.map((pair, index) => ({ pair, index }))
  const groups = Map.groupBy(indexed, ({ pair }) => `${pair.source}\u0000${pair.destination}`)
  await Promise.all(
    [...groups.values()].map(async (group) => {
      group.sort((a, b) => callOrder(a.pair.event) - callOrder(b.pair.event))
      const results = await deliverSafely(
        env,
        group.map(({ pair }) => pair),
        budget,
        clock,
        observe,
      )
      group.forEach(({ index }, position) => {
        outcomes[index] = results[position] ?? missingOutcome
      })
    }),
  )
  return outcomes
}

/** Calls a destination's `deliver`; a destination bug becomes a retry for its items, never a lost batch. */
async function deliverSafely(
  env: Bindings,
  pairs: DueDelivery[],
  budget: SubrequestBudget,
  clock: Clock,
  observe: ((exchange: PartnerExchange) => void) | undefined,
): Promise<AttemptOutcome[]> {
  const first = pairs[0]
  if (!first) return []
  const items: DeliveryItem[] = pairs.map((pair) => ({ event: pair.event, attempt: pair.attempt }))
  try {
    return await first.definition.deliver(
      items,
      createDeliveryContext(env, first.source, first.definition, first.config, budget, clock, observe),
    )
  } catch (error) {
    logWarn({ msg: `destination threw: ${(error as Error).message}`, destination: first.destination })
    return pairs.map(() => ({ status: 'retry', error: 'destination_error' }))
  }
}
