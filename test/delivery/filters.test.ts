import fc from 'fast-check'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { type Expression, type Literal, parseExpression } from '../../src/config/rules/expression'
import { FiltersSchema } from '../../src/config/rules/filters'
import { evaluate, matchesGlob, valueAt } from '../../src/delivery/filters/evaluate'
import { filteringRule } from '../../src/delivery/filters/rules'
import type { SegmentEvent } from '../../src/segment/schema'
import { ADMIN_TOKEN, routerFetch } from '../helpers/router'

function parsed(source: string): Expression {
  const result = parseExpression(source)
  if (!result.ok) throw new Error(`expected ${source} to parse: ${result.message}`)
  return result.expression
}

function holds(source: string, event: unknown): boolean {
  return evaluate(parsed(source), event)
}

const ORDER = {
  type: 'track',
  event: 'Order Completed',
  messageId: 'm-1',
  timestamp: '2024-05-01T10:00:00.000Z',
  properties: { revenue: 42.5, currency: 'EUR', coupon: null, products: [{ sku: 'A1' }] },
  traits: { plan: 'pro' },
  context: { library: { name: 'analytics.js', version: '2.1' } },
}

describe('condition language: evaluation', () => {
  it('compares numbers and text, strictly typed', () => {
    expect(holds('properties.revenue > 0', ORDER)).toBe(true)
    expect(holds('properties.revenue >= 42.5', ORDER)).toBe(true)
    expect(holds('properties.revenue < 42.5', ORDER)).toBe(false)
    expect(holds('properties.revenue <= -1', ORDER)).toBe(false)
    expect(holds('traits.plan == "pro"', ORDER)).toBe(true)
    expect(holds('traits.plan != "pro"', ORDER)).toBe(false)
    // "42.5" is text, not a number: no ordering across types, and no equality either.
    expect(holds('properties.revenue > "1"', ORDER)).toBe(false)
    expect(holds('properties.revenue == "42.5"', ORDER)).toBe(false)
    // ISO dates order as text.
    expect(holds('timestamp >= "2024-01-01"', ORDER)).toBe(true)
    expect(holds('timestamp < "2024-01-01"', ORDER)).toBe(false)
  })

  it('treats missing and null as not existing; missing equals nothing', () => {
    expect(holds('context.library.name exists', ORDER)).toBe(true)
    expect(holds('properties.coupon exists', ORDER)).toBe(false)
    expect(holds('properties.nothing exists', ORDER)).toBe(false)
    expect(holds('properties.coupon == null', ORDER)).toBe(true)
    expect(holds('properties.nothing == null', ORDER)).toBe(false)
    expect(holds('properties.nothing != "x"', ORDER)).toBe(true)
  })

  it('supports in-lists, and/or/not with precedence and parentheses', () => {
    expect(holds('properties.currency in ["USD", "EUR"]', ORDER)).toBe(true)
    expect(holds('properties.currency in ["USD"]', ORDER)).toBe(false)
    // and binds tighter than or.
    expect(
      holds('traits.plan == "free" and properties.revenue > 0 or event == "Order Completed"', ORDER),
    ).toBe(true)
    expect(
      holds('traits.plan == "free" and (properties.revenue > 0 or event == "Order Completed")', ORDER),
    ).toBe(false)
    expect(holds('not traits.plan == "free"', ORDER)).toBe(true)
    expect(holds('not not traits.plan == "free"', ORDER)).toBe(false)
  })

  it('indexes arrays by number and reads own keys only', () => {
    expect(holds('properties.products.0.sku == "A1"', ORDER)).toBe(true)
    expect(holds('properties.products.1.sku exists', ORDER)).toBe(false)
    // No prototype is reachable through a path.
    expect(holds('properties.constructor exists', ORDER)).toBe(false)
    expect(holds('properties.__proto__ exists', ORDER)).toBe(false)
    const own = JSON.parse('{"properties":{"__proto__":{"x":1}}}')
    expect(valueAt(own, ['properties', '__proto__', 'x'])).toBe(1)
  })
})

describe('condition language: errors', () => {
  it.each([
    ['properties.revenue >> 0', 'at character 21: expected a value'],
    [
      'properties.revenue',
      'at character 19: expected ==, !=, >, >=, <, <=, "exists" or "in" after properties.revenue',
    ],
    ['traits.plan == "pro" and', 'at character 25: expected a field path'],
    ['(traits.plan exists', 'at character 20: expected ")"'],
    ['traits.plan in ["a" "b"]', 'at character 21: expected "," or "]"'],
    ['traits.plan == pro', 'at character 16: expected a value'],
    ['traits.plan == "pro" traits.x exists', 'at character 22: expected "and", "or" or the end'],
    ['traits.plan == "a\\q"', 'at character 16: invalid string'],
    ['traits.plan ~ 1', 'at character 13: unexpected character "~"'],
    ['', 'at character 1: expected a field path'],
  ])('%s → %s', (source, message) => {
    const result = parseExpression(source)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.message).toContain(message)
  })

  it('refuses deep nesting and very long expressions instead of overflowing', () => {
    expect(parseExpression(`${'not '.repeat(40)}traits.a exists`)).toMatchObject({
      ok: false,
      message: expect.stringContaining('nested deeper than 32'),
    })
    expect(parseExpression(`${'('.repeat(40)}traits.a exists${')'.repeat(40)}`).ok).toBe(false)
    expect(parseExpression(`traits.a == "${'x'.repeat(1000)}"`).ok).toBe(false)
  })
})

/** Prints an expression back as source, so generated trees can be parsed again. */
function print(expression: Expression): string {
  const path = (segments: readonly string[]) => segments.join('.')
  switch (expression.kind) {
    case 'and':
    case 'or':
      return `(${print(expression.left)} ${expression.kind} ${print(expression.right)})`
    case 'not':
      return `not ${print(expression.operand)}`
    case 'exists':
      return `${path(expression.path)} exists`
    case 'compare':
      return `${path(expression.path)} ${expression.operator} ${JSON.stringify(expression.value)}`
    case 'in':
      return `${path(expression.path)} in [${expression.values.map((value) => JSON.stringify(value)).join(', ')}]`
  }
}

const segment = fc
  .stringMatching(/^[a-z_][a-z0-9_]{0,6}$/)
  .filter((text) => !['and', 'or', 'not', 'exists', 'in', 'true', 'false', 'null'].includes(text))
const fieldPath = fc.array(segment, { minLength: 1, maxLength: 3 })
const literal: fc.Arbitrary<Literal> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).filter((n) => !Object.is(n, -0)),
  fc.boolean(),
  fc.constant(null),
)
const { expression: expressionArbitrary } = fc.letrec<{ expression: Expression }>((tie) => ({
  expression: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('exists' as const), path: fieldPath }),
    fc.record({
      kind: fc.constant('compare' as const),
      path: fieldPath,
      operator: fc.constantFrom('==', '!=', '>', '>=', '<', '<=' as const),
      value: literal,
    }),
    fc.record({
      kind: fc.constant('in' as const),
      path: fieldPath,
      values: fc.array(literal, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('expression') }),
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const),
      left: tie('expression'),
      right: tie('expression'),
    }),
  ),
}))

describe('condition language: properties', () => {
  it('parses every printed expression back to the same tree', () => {
    fc.assert(
      fc.property(expressionArbitrary, (expression) => {
        const source = print(expression)
        fc.pre(source.length <= 1000)
        expect(parseExpression(source)).toEqual({ ok: true, expression })
      }),
    )
  })

  it('never throws on arbitrary text: it parses or says where it failed', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (source) => {
        const result = parseExpression(source)
        if (!result.ok) expect(result.message).toMatch(/^at character \d+: /)
      }),
    )
  })

  it('not e is the opposite of e, and == of !=, on any event', () => {
    const event = fc.record({
      properties: fc.dictionary(segment, literal),
      traits: fc.dictionary(segment, literal),
    })
    fc.assert(
      fc.property(expressionArbitrary, event, (expression, sample) => {
        expect(evaluate({ kind: 'not', operand: expression }, sample)).toBe(!evaluate(expression, sample))
        if (expression.kind === 'compare' && expression.operator === '==')
          expect(evaluate({ ...expression, operator: '!=' }, sample)).toBe(!evaluate(expression, sample))
      }),
    )
  })
})

describe('globs', () => {
  it('matches * as any run of characters, everything else literally', () => {
    expect(matchesGlob('Order *', 'Order Completed')).toBe(true)
    expect(matchesGlob('Order *', 'Order ')).toBe(true)
    expect(matchesGlob('Order *', 'Orders')).toBe(false)
    expect(matchesGlob('*Viewed', 'Product Viewed')).toBe(true)
    expect(matchesGlob('P*d*d', 'Product Added')).toBe(true)
    expect(matchesGlob('order completed', 'Order Completed')).toBe(false)
    expect(matchesGlob('a.c', 'abc')).toBe(false)
    expect(matchesGlob('*', '')).toBe(true)
  })

  it('agrees with an anchored regular expression on random patterns and text', () => {
    const char = fc.constantFrom('a', 'b', '.', '*', '(', '+')
    const pattern = fc.array(char, { maxLength: 8 }).map((chars) => chars.join(''))
    const text = fc
      .array(fc.constantFrom('a', 'b', '.', '*', '('), { maxLength: 10 })
      .map((chars) => chars.join(''))
    fc.assert(
      fc.property(pattern, text, (glob, sample) => {
        // The oracle: escape everything, then * → .* (the test may build a RegExp; the router does not).
        const oracle = new RegExp(
          `^${glob
            .split('*')
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
          's',
        )
        expect(matchesGlob(glob, sample)).toBe(oracle.test(sample))
      }),
    )
  })
})

function filters(input: unknown) {
  return v.parse(FiltersSchema, input)
}

const track = (event: string, fields: Record<string, unknown> = {}) =>
  ({ type: 'track', event, messageId: 'm', timestamp: '2024-05-01T10:00:00.000Z', ...fields }) as SegmentEvent

describe('filter rules', () => {
  it('applies in order: the first drop that matches, or only that does not, names itself', () => {
    const rules = filters([
      { name: 'no-tests', action: 'drop', events: ['Test *'] },
      { name: 'tracks-and-pages', action: 'only', types: ['track', 'page'] },
      { name: 'paying', action: 'only', if: 'properties.revenue > 0', events: ['Order *'] },
    ])
    expect(filteringRule(rules, track('Test Event'))).toBe('no-tests')
    expect(
      filteringRule(rules, {
        type: 'identify',
        messageId: 'm',
        timestamp: '2024-05-01T10:00:00.000Z',
      } as SegmentEvent),
    ).toBe('tracks-and-pages')
    expect(filteringRule(rules, track('Order Completed', { properties: { revenue: 0 } }))).toBe('paying')
    expect(filteringRule(rules, track('Signed Up'))).toBe('paying')
    expect(filteringRule(rules, track('Order Completed', { properties: { revenue: 5 } }))).toBeUndefined()
  })

  it('matches event names of pages and screens, and never of other calls', () => {
    const rules = filters([{ name: 'no-pricing', action: 'drop', events: ['Pricing*'] }])
    const page = { type: 'page', name: 'Pricing Page', messageId: 'm', timestamp: '2024-05-01T10:00:00.000Z' }
    expect(filteringRule(rules, page as SegmentEvent)).toBe('no-pricing')
    expect(filteringRule(rules, { ...page, name: 'Home' } as SegmentEvent)).toBeUndefined()
    expect(
      filteringRule(rules, { ...page, type: 'group', groupId: 'g' } as unknown as SegmentEvent),
    ).toBeUndefined()
  })

  it('refuses unknown keys, empty criteria, bad types and duplicate names', () => {
    const issues = (input: unknown) => {
      const result = v.safeParse(FiltersSchema, input)
      return result.success ? [] : result.issues.map((issue) => issue.message)
    }
    expect(issues([{ name: 'a', action: 'drop', iff: 'traits.a exists' }])).toEqual([
      'unknown key "iff" (expected name, action, types, events, if)',
    ])
    expect(issues([{ name: 'a', action: 'drop' }])).toEqual([
      'a filter needs at least one of types, events or if',
    ])
    expect(issues([{ name: 'a', action: 'keep', types: ['track'] }])).toEqual([
      'action must be "drop" or "only"',
    ])
    expect(issues([{ name: 'a', action: 'drop', types: ['tracks'] }])[0]).toMatch(/^types must be among/)
    expect(
      issues([
        { name: 'a', action: 'drop', types: ['track'] },
        { name: 'a', action: 'drop', types: ['page'] },
      ]),
    ).toEqual(['duplicate filter name "a"'])
    expect(issues({ name: 'a' })).toEqual(['filters must be an array of filter objects'])
  })
})

describe('PUT /admin/config with filters', () => {
  it('refuses an unparseable condition with a 400 naming the rule path and the problem, storing nothing', async () => {
    const body = {
      sources: [
        {
          name: 'filters-bad',
          writeKey: 'wk_filters_bad_1',
          destinations: {
            CrowdPower: {
              apiKey: 'pk_test',
              filters: [
                { name: 'ok', action: 'drop', events: ['Test*'] },
                { name: 'broken', action: 'only', if: 'properties.revenue >> 0' },
              ],
            },
          },
        },
      ],
    }
    const response = await routerFetch('/admin/config', {
      method: 'PUT',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(body),
    })
    expect(response.status).toBe(400)
    const result = (await response.json()) as { issues: { path: string; message: string }[] }
    expect(result.issues).toEqual([
      {
        path: 'sources.0.destinations.CrowdPower.filters.1.if',
        message:
          'cannot parse "properties.revenue >> 0": at character 21: expected a value ("text", a number, true, false or null), found ">"',
      },
    ])
    const stored = await routerFetch('/admin/config', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(JSON.stringify(await stored.json())).not.toContain('filters-bad')
  })
})
