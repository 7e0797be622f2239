import type { DestinationConfig, SourceConfig } from '../config/schema'
import { findDestination } from '../destinations/registry'
import type { DestinationDefinition, DropReason } from '../destinations/types'
import type { SegmentEvent } from '../segment/schema'

/** Where one event goes for one destination: to its `deliver`, or straight to the ledger as a drop. */
export type RoutingDecision =
  | {
      destination: string
      deliver: { definition: DestinationDefinition<unknown>; config: DestinationConfig }
    }
  | { destination: string; drop: DropReason }

/**
 * Segment's `integrations` rule: the destination's own key (case sensitive)
 * wins, then `All`, then on. An options object counts as on.
 */
export function integrationEnabled(integrations: SegmentEvent['integrations'], destination: string): boolean {
  const value = integrations?.[destination] ?? integrations?.All
  return value !== false
}

/**
 * Routes an event to every enabled destination of its source (or only those a
 * replay names). Every routed destination gets a decision, so every one gets a
 * ledger row: events switched off by `integrations` or of a call type the
 * destination does not take are recorded as drops, not skipped silently.
 */
export function routeEvent(
  event: SegmentEvent,
  source: SourceConfig,
  only?: readonly string[],
): RoutingDecision[] {
  const decisions: RoutingDecision[] = []
  for (const [destination, config] of Object.entries(source.destinations)) {
    if (!config.enabled || (only && !only.includes(destination))) continue
    const definition = findDestination(destination)
    // Config validation rejects unknown names; a destination removed from the code since is dropped visibly.
    if (!definition) decisions.push({ destination, drop: 'unknown_destination' })
    else if (!integrationEnabled(event.integrations, destination))
      decisions.push({ destination, drop: 'integrations_off' })
    else if (!definition.accepts.includes(event.type))
      decisions.push({ destination, drop: 'unsupported_call' })
    else decisions.push({ destination, deliver: { definition, config } })
  }
  return decisions
}
