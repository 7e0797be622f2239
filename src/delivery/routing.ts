import type { DestinationConfig, SourceConfig } from '../config/schema'
import { findDestination } from '../destinations/registry'
import type { DestinationDefinition } from '../destinations/types'
import type { DropReason } from '../ledger/state'
import type { Route } from '../ledger/types'
import { memoizeByObject } from '../lib/memo'
import type { SegmentEvent } from '../segment/schema'

/** A destination an event is delivered to: its code and its config. */
interface DeliveryTarget {
  definition: DestinationDefinition<unknown>
  config: DestinationConfig
}

/** Where one event goes for one destination: to its `deliver`, or straight to the ledger as a drop. */
export type RoutingDecision =
  | { destination: string; deliver: DeliveryTarget }
  | { destination: string; drop: DropReason }

/**
 * Segment's `integrations` rule: the destination's own key (case sensitive)
 * wins, then `All`, then on. An options object counts as on.
 */
export function integrationEnabled(integrations: SegmentEvent['integrations'], destination: string): boolean {
  const value = integrations?.[destination] ?? integrations?.All
  return value !== false
}

/** The decisions one enabled destination can get, made once: they are the same for every event. */
interface RouteTarget {
  destination: string
  /** Undefined for a destination removed from the code since the config was saved. */
  deliver: { destination: string; deliver: DeliveryTarget } | undefined
  integrationsOff: RoutingDecision
  unsupportedCall: RoutingDecision
  unknownDestination: RoutingDecision
}

/** A source's enabled destinations, worked out once per config object (configs are replaced, never edited). */
const routeTargetsOf = memoizeByObject((source: SourceConfig): readonly RouteTarget[] =>
  Object.entries(source.destinations)
    .filter(([, config]) => config.enabled)
    .map(([destination, config]) => {
      const definition = findDestination(destination)
      const drop = (reason: DropReason): RoutingDecision => Object.freeze({ destination, drop: reason })
      return {
        destination,
        deliver: definition && Object.freeze({ destination, deliver: Object.freeze({ definition, config }) }),
        integrationsOff: drop('integrations_off'),
        unsupportedCall: drop('unsupported_call'),
        unknownDestination: drop('unknown_destination'),
      }
    }),
)

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
  for (const target of routeTargetsOf(source)) {
    if (only && !only.includes(target.destination)) continue
    // Config validation rejects unknown names; a destination removed from the code since is dropped visibly.
    const { deliver } = target
    if (!deliver) decisions.push(target.unknownDestination)
    else if (!integrationEnabled(event.integrations, target.destination))
      decisions.push(target.integrationsOff)
    else if (!deliver.deliver.definition.accepts.includes(event.type)) decisions.push(target.unsupportedCall)
    else decisions.push(deliver)
  }
  return decisions
}

/** A decision as the ledger records it: the destination, and the drop when routing dropped it. */
export function routeOf(decision: RoutingDecision): Route {
  return 'drop' in decision
    ? { destination: decision.destination, drop: { reason: decision.drop } }
    : { destination: decision.destination }
}
