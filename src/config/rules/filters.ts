import * as v from 'valibot'
import { exactObject } from '../../lib/objects'
import { CALL_TYPES, type CallType } from '../../segment/schema'
import { type Expression, parseExpression } from './expression'

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
  exactObject(
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
