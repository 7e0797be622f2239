import { findDestination } from '../destinations/registry'
import { isPlainObject } from '../lib/objects'

/** What GET /admin/config shows instead of a secret. Sending it back in a PUT keeps the stored value. */
export const REDACTED = '<redacted>'

const SOURCE_SECRETS = ['writeKey', 'webhookSecret'] as const

type JsonRecord = Record<string, unknown>

/** Calls `visit(holder, key, path)` for every secret field of a config document. */
function forEachSecret(
  document: unknown,
  visit: (holder: JsonRecord, key: string, path: string[]) => void,
): void {
  if (!isPlainObject(document) || !Array.isArray(document.sources)) return
  for (const source of document.sources) {
    if (!isPlainObject(source)) continue
    const sourcePath = [String(source.name)]
    for (const key of SOURCE_SECRETS) if (key in source) visit(source, key, [...sourcePath, key])
    if (!isPlainObject(source.destinations)) continue
    for (const [name, settings] of Object.entries(source.destinations)) {
      const secrets = findDestination(name)?.secretSettings ?? []
      if (!isPlainObject(settings)) continue
      for (const key of secrets) if (key in settings) visit(settings, key, [...sourcePath, name, key])
    }
  }
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
 * destination name and setting name; a redacted value with no stored match stays
 * as is (and fails validation if it is too short, or is plainly not a real key).
 */
export function restoreRedactedSecrets(incoming: unknown, stored: unknown): unknown {
  const storedSecrets = new Map<string, unknown>()
  forEachSecret(stored, (holder, key, path) => storedSecrets.set(path.join('\u0000'), holder[key]))
  const copy = structuredClone(incoming)
  forEachSecret(copy, (holder, key, path) => {
    const previous = storedSecrets.get(path.join('\u0000'))
    if (holder[key] === REDACTED && previous !== undefined) holder[key] = previous
  })
  return copy
}
