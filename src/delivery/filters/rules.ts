import * as v from 'valibot'
import { isPlainObject } from '../../lib/objects'
import { CALL_TYPES, type CallType, type SegmentEvent } from '../../segment/schema'
import { evaluate, matchesGlob } from './evaluate'
import { type Expression, parseExpression } from './parse'

/**
 * A JSON object with exactly these keys: a misspelt key in a privacy rule (`iff`,
 * `hsah`) must be refused, not silently ignored as `v.object` would.
 */
export function strictPlainObject<const E extends v.ObjectEntries>(entries: E, message: string) {
  const known = Object.keys(entries)
  return v.pipe(
    v.custom<Record<string, unknown>>(isPlainObject, message),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return
      for (const key of Object.keys(dataset.value))
        if (!known.includes(key)) addIssue({ message: `unknown key "${key}" (expected ${known.join(', ')})` })
    }),
    v.object(entries, message),
  )
}

/** A condition, parsed here (config validation) so delivery only evaluates it. */
const Condition = v.pipe(
  v.string('if must be a condition string, e.g. properties.revenue > 0'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const parsed = parseExpression(dataset.value)
    if (parsed.ok) return parsed.expression
    addIssue({ message: `cannot parse ${JSON.stringify(dataset.value)}: ${parsed.message}` })
    return NEVER
  }),
)

const FilterRuleSchema = v.pipe(
  strictPlainObject(
    {
      name: v.pipe(
        v.string('name is required'),
        v.minLength(1, 'name must not be empty'),
        v.maxLength(100, 'name must be at most 100 characters'),
      ),
      action: v.picklist(['drop', 'only'], 'action must be "drop" or "only"'),
      types: v.optional(
        v.pipe(
          v.array(v.picklist(CALL_TYPES, `types must be among ${CALL_TYPES.join(', ')}`)),
          v.minLength(1, 'types must not be empty'),
        ),
      ),
      events: v.optional(
        v.pipe(
          v.array(v.pipe(v.string(), v.minLength(1, 'an event name must not be empty'))),
          v.minLength(1, 'events must not be empty'),
        ),
      ),
      if: v.optional(Condition),
    },
    'a filter must be an object with name, action and at least one of types, events, if',
  ),
  v.check(
    (rule) => rule.types !== undefined || rule.events !== undefined || rule.if !== undefined,
    'a filter needs at least one of types, events or if',
  ),
)

export const FiltersSchema = v.pipe(
  v.array(FilterRuleSchema, 'filters must be an array of filter objects'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return
    const seen = new Set<string>()
    dataset.value.forEach((rule, index) => {
      if (seen.has(rule.name))
        addIssue({
          message: `duplicate filter name "${rule.name}"`,
          path: [{ type: 'array', origin: 'value', input: dataset.value, key: index, value: rule }],
        })
      seen.add(rule.name)
    })
  }),
  v.transform((rules) => rules.map(compileRule)),
)

/** A filter as delivery uses it: call types as a set, the condition already parsed. */
export interface FilterRule {
  name: string
  /** `drop`: drop what matches. `only`: drop what does not match. */
  action: 'drop' | 'only'
  types?: ReadonlySet<CallType>
  events?: readonly string[]
  condition?: Expression
}

function compileRule(rule: v.InferOutput<typeof FilterRuleSchema>): FilterRule {
  return {
    name: rule.name,
    action: rule.action,
    ...(rule.types && { types: new Set(rule.types) }),
    ...(rule.events && { events: rule.events }),
    ...(rule.if && { condition: rule.if }),
  }
}

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
