import { findDestination } from '../destinations/registry'
import type { InputIssue } from '../lib/errors'
import { isPlainObject } from '../lib/objects'

/** What GET /admin/config shows instead of a secret. Sending it back in a PUT keeps the stored value. */
export const REDACTED = '<redacted>'

const SOURCE_SECRETS = ['writeKey', 'webhookSecret'] as const

type JsonRecord = Record<string, unknown>

/** Where a secret sits: `owner` names it by source, destination and setting (stable across edits), `path` by position. */
interface SecretPlace {
  owner: string
  path: string
}

/** Calls `visit(holder, key, place)` for every secret field of a config document. */
function forEachSecret(
  document: unknown,
  visit: (holder: JsonRecord, key: string, place: SecretPlace) => void,
): void {
  if (!isPlainObject(document) || !Array.isArray(document.sources)) return
  document.sources.forEach((source: unknown, index) => {
    if (!isPlainObject(source)) return
    const place = (names: string[], key: string): SecretPlace => ({
      owner: JSON.stringify([source.name, ...names, key]),
      path: [`sources.${index}`, ...(names.length > 0 ? ['destinations', ...names] : []), key].join('.'),
    })
    for (const key of SOURCE_SECRETS) if (Object.hasOwn(source, key)) visit(source, key, place([], key))
    if (!isPlainObject(source.destinations)) return
    for (const [name, settings] of Object.entries(source.destinations)) {
      const secrets = findDestination(name)?.secretSettings ?? []
      if (!isPlainObject(settings)) continue
      for (const key of secrets) if (Object.hasOwn(settings, key)) visit(settings, key, place([name], key))
    }
  })
  forEachAlertTargetSecret(document, visit)
}

/**
 * A webhook target's `secret`, and a Slack target's `url` (the URL is the Slack
 * credential). Matched by the target's kind and name, or its position when unnamed.
 */
const TARGET_SECRETS: Partial<Record<string, string>> = { webhook: 'secret', slack: 'url' }

function forEachAlertTargetSecret(
  document: JsonRecord,
  visit: (holder: JsonRecord, key: string, place: SecretPlace) => void,
): void {
  if (!isPlainObject(document.alerts) || !Array.isArray(document.alerts.targets)) return
  document.alerts.targets.forEach((target: unknown, index) => {
    if (!isPlainObject(target) || typeof target.kind !== 'string') return
    const key = TARGET_SECRETS[target.kind]
    if (key === undefined || !Object.hasOwn(target, key)) return
    const name = typeof target.name === 'string' ? target.name : `#${index}`
    visit(target, key, {
      owner: JSON.stringify(['alerts', target.kind, name, key]),
      path: `alerts.targets.${index}.${key}`,
    })
  })
}

/** A deep copy with every secret replaced by {@link REDACTED}. */
export function redactConfig(document: unknown): unknown {
  const copy = structuredClone(document)
  forEachSecret(copy, (holder, key) => {
    holder[key] = REDACTED
  })
  return copy
}

/**
 * Puts stored secrets back where a PUT sent {@link REDACTED}, so a document read
 * from GET can be edited and sent back. Secrets are matched by source name,
 * destination name and setting name. A redacted value with nothing stored to keep
 * (a new source or destination, a renamed one, a secret not set before) is an
 * issue at its path: the placeholder must never be stored as a secret. Walks the
 * document, so give it only one that passed `configShapeIssues`.
 */
export function restoreRedactedSecrets(
  incoming: unknown,
  stored: unknown,
): { document: unknown; issues: InputIssue[] } {
  const storedSecrets = new Map<string, unknown>()
  forEachSecret(stored, (holder, key, { owner }) => storedSecrets.set(owner, holder[key]))
  const document = structuredClone(incoming)
  const issues: InputIssue[] = []
  forEachSecret(document, (holder, key, { owner, path }) => {
    if (holder[key] !== REDACTED) return
    const previous = storedSecrets.get(owner)
    if (previous !== undefined) holder[key] = previous
    else issues.push({ path, message: `${key} is "${REDACTED}" but there is no stored secret to keep` })
  })
  return { document, issues }
}
