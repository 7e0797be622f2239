import type { FilterRule } from '../../config/rules/filters'
import type { SegmentEvent } from '../../segment/schema'
import { evaluate, matchesGlob } from './evaluate'

/** The name a filter rule matches on: the track's event, the page's or screen's name; other calls have none. */
function eventName(event: SegmentEvent): string | undefined {
  if (event.type === 'track') return event.event
  if (event.type === 'page' || event.type === 'screen') return event.name ?? undefined
  return undefined
}

/** A rule matches when every criterion it has matches. */
function matches(rule: FilterRule, event: SegmentEvent): boolean {
  if (rule.types && !rule.types.has(event.type)) return false
  if (rule.events) {
    const name = eventName(event)
    if (name === undefined || !rule.events.some((pattern) => matchesGlob(pattern, name))) return false
  }
  return !rule.condition || evaluate(rule.condition, event)
}

/**
 * The rules apply in order, as Segment's destination filters do: the first
 * `drop` rule that matches, or `only` rule that does not, drops the event. Returns
 * that rule's name, or undefined when the event passes every rule.
 */
export function filteringRule(rules: readonly FilterRule[], event: SegmentEvent): string | undefined {
  for (const rule of rules) {
    if (matches(rule, event) === (rule.action === 'drop')) return rule.name
  }
  return undefined
}
