import type { InputIssue } from '../lib/errors'
import { isPlainObject } from '../lib/objects'

/** Keys of a destination entry that are rules (what may reach the partner), not partner settings. */
export const RULE_KEYS: readonly string[] = ['consent', 'filters', 'fields']

/** One destination's rules as stored: its `consent`, `filters` and `fields`, whichever it has. */
export function destinationRules(entry: unknown): Record<string, unknown> {
  const rules: Record<string, unknown> = {}
  if (!isPlainObject(entry)) return rules
  for (const key of RULE_KEYS) if (Object.hasOwn(entry, key)) rules[key] = entry[key]
  return rules
}

/**
 * A copy of the config document with one destination's rules replaced by
 * `text`, a JSON object of rules (`{}` clears them); its settings and secrets
 * are kept as stored. The rules themselves are checked by the config schema
 * when the document is validated; here only what the editor may change is.
 */
export function withDestinationRules(
  document: unknown,
  sourceName: string,
  destination: string,
  text: string,
): { ok: true; document: unknown } | { ok: false; issues: InputIssue[] } {
  let rules: unknown
  try {
    rules = JSON.parse(text)
  } catch (error) {
    return {
      ok: false,
      issues: [{ path: 'rules', message: `is not valid JSON: ${(error as Error).message}` }],
    }
  }
  if (!isPlainObject(rules))
    return {
      ok: false,
      issues: [{ path: 'rules', message: 'must be a JSON object of consent, filters, fields' }],
    }
  const strays = Object.keys(rules).filter((key) => !RULE_KEYS.includes(key))
  if (strays.length > 0)
    return {
      ok: false,
      issues: strays.map((key) => ({
        path: `rules.${key}`,
        message: 'is not a rule (consent, filters, fields)',
      })),
    }
  const copy = structuredClone(document)
  const sources = isPlainObject(copy) && Array.isArray(copy.sources) ? copy.sources : []
  const source = sources.find(
    (item): item is Record<string, unknown> => isPlainObject(item) && item.name === sourceName,
  )
  if (!source) return { ok: false, issues: [{ path: 'source', message: `no source named "${sourceName}"` }] }
  const destinations = source.destinations
  const entry = isPlainObject(destinations) ? destinations[destination] : undefined
  if (!isPlainObject(destinations) || !isPlainObject(entry) || !Object.hasOwn(destinations, destination))
    return {
      ok: false,
      issues: [
        { path: 'destination', message: `"${destination}" is not configured on source "${sourceName}"` },
      ],
    }
  const settings = Object.fromEntries(Object.entries(entry).filter(([key]) => !RULE_KEYS.includes(key)))
  destinations[destination] = { ...settings, ...rules }
  return { ok: true, document: copy }
}
