import type { ConsentMissing } from '../config/rules/consent'
import type { DestinationConfig, DestinationRules, SourceConfig } from '../config/schema'
import { findDestination } from '../destinations/registry'
import type { DestinationDefinition } from '../destinations/types'
import type { RoutingDropReason } from '../ledger/funnel'
import type { Route } from '../ledger/types'
import { memoizeByObject } from '../lib/memo'
import type { SegmentEvent } from '../segment/schema'
import { consentDrop } from './consent'
import { applyFieldControls } from './fields/apply'
import { filteringRule } from './filters/rules'

/** A destination an event is delivered to: its code and its config. */
interface DeliveryTarget {
  definition: DestinationDefinition<unknown>
  config: DestinationConfig
}

/**
 * Where one event goes for one destination: to its `deliver` with `event` as the
 * destination may see it (after its field controls; the same object when it has
 * none), or straight to the ledger as a drop (`detail`, e.g. the filter rule's
 * name, is the row's summary).
 */
export type RoutingDecision =
  | { destination: string; deliver: DeliveryTarget; event: SegmentEvent }
  /** A reason from ROUTING_DROPS, so the delivery funnel places every drop routing makes. */
  | { destination: string; drop: RoutingDropReason; detail?: string }

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
  deliver: DeliveryTarget | undefined
  rules: DestinationRules | undefined
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
      const drop = (reason: RoutingDropReason): RoutingDecision =>
        Object.freeze({ destination, drop: reason })
      return {
        destination,
        deliver: definition && Object.freeze({ definition, config }),
        rules: config.rules,
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
    else if (!deliver.definition.accepts.includes(event.type)) decisions.push(target.unsupportedCall)
    else if (target.rules)
      decisions.push(applyRules(event, target.destination, deliver, target.rules, source.consentMissing))
    else decisions.push({ destination: target.destination, deliver, event })
  }
  return decisions
}

/**
 * A destination's rules, in this order: consent (what the visitor allowed), then
 * filters (what the operator wants sent), then field controls (what of it the
 * partner may see). Consent and filters read the event as received.
 */
function applyRules(
  event: SegmentEvent,
  destination: string,
  deliver: DeliveryTarget,
  rules: DestinationRules,
  consentMissing: ConsentMissing,
): RoutingDecision {
  if (rules.consent) {
    const refused = consentDrop(event, rules.consent, consentMissing)
    if (refused) return { destination, ...refused }
  }
  if (rules.filters) {
    const rule = filteringRule(rules.filters, event)
    if (rule !== undefined) return { destination, drop: 'filtered', detail: rule }
  }
  return { destination, deliver, event: rules.fields ? applyFieldControls(event, rules.fields) : event }
}

/** A decision as the ledger records it: the destination, and the drop (with its detail) when routing dropped it. */
export function routeOf(decision: RoutingDecision): Route {
  return 'drop' in decision
    ? {
        destination: decision.destination,
        drop: { reason: decision.drop, ...(decision.detail !== undefined && { detail: decision.detail }) },
      }
    : { destination: decision.destination }
}
