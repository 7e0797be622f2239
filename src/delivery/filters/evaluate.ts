import type { Expression, Literal } from '../../config/rules/expression'
import { isPlainObject } from '../../lib/objects'

/**
 * The value at a path of an event, or undefined. Only own keys are read (so
 * `__proto__` or `constructor` is a key like any other, never the prototype); a
 * digits-only segment indexes an array (`properties.products.0.sku`).
 */
export function valueAt(root: unknown, path: readonly string[]): unknown {
  let value = root
  for (const segment of path) {
    if (Array.isArray(value) && /^\d+$/.test(segment)) value = value[Number(segment)]
    else if (isPlainObject(value) && Object.hasOwn(value, segment)) value = value[segment]
    else return undefined
  }
  return value
}

/** Ordering compares numbers with numbers and text with text (ISO dates sort as text); anything else is false. */
function ordered(value: unknown, literal: Literal, test: (order: number) => boolean): boolean {
  if (typeof value === 'number' && typeof literal === 'number') return test(value - literal)
  if (typeof value === 'string' && typeof literal === 'string')
    return test(value < literal ? -1 : value > literal ? 1 : 0)
  return false
}

/**
 * Evaluates a parsed condition against an event. Equality is strict (`"1"` is not
 * `1`); a missing field equals nothing (use `exists`), so `!=` is true for it.
 */
export function evaluate(expression: Expression, event: unknown): boolean {
  switch (expression.kind) {
    case 'and':
      return evaluate(expression.left, event) && evaluate(expression.right, event)
    case 'or':
      return evaluate(expression.left, event) || evaluate(expression.right, event)
    case 'not':
      return !evaluate(expression.operand, event)
    case 'exists': {
      const value = valueAt(event, expression.path)
      return value !== undefined && value !== null
    }
    case 'in': {
      const value = valueAt(event, expression.path)
      return expression.values.some((literal) => literal === value)
    }
    case 'compare': {
      const value = valueAt(event, expression.path)
      const literal = expression.value
      switch (expression.operator) {
        case '==':
          return value === literal
        case '!=':
          return value !== literal
        case '>':
          return ordered(value, literal, (order) => order > 0)
        case '>=':
          return ordered(value, literal, (order) => order >= 0)
        case '<':
          return ordered(value, literal, (order) => order < 0)
        case '<=':
          return ordered(value, literal, (order) => order <= 0)
      }
    }
  }
}

/**
 * `*` matches any run of characters (none included); everything else matches
 * itself, case sensitive. Greedy with one backtrack point: linear-ish, and no
 * regular expression is built from the pattern.
 */
export function matchesGlob(pattern: string, text: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p += 1
      t += 1
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p
      resume = t
      p += 1
    } else if (star >= 0) {
      p = star + 1
      resume += 1
      t = resume
    } else return false
  }
  while (pattern[p] === '*') p += 1
  return p === pattern.length
}
