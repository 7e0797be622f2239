import * as v from 'valibot'
import { findDestination } from '../destinations/registry'
import { type InputIssue, toInputIssues } from '../lib/errors'

/** Settings every destination takes besides its own. */
const CommonDestinationSettings = v.looseObject({
  enabled: v.optional(v.boolean('enabled must be a boolean'), true),
  apiBase: v.optional(
    v.pipe(
      v.string(),
      v.url('apiBase must be a URL'),
      v.transform((url) => url.replace(/\/+$/, '')),
    ),
  ),
})

const SourceSchema = v.object({
  name: v.pipe(
    v.string('name is required'),
    v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'name must be 1-64 letters, digits, _ or -'),
  ),
  writeKey: v.pipe(
    v.string('writeKey is required'),
    v.minLength(8, 'writeKey must be at least 8 characters'),
  ),
  webhookSecret: v.optional(
    v.pipe(v.string(), v.minLength(8, 'webhookSecret must be at least 8 characters')),
  ),
  /** Accept webhooks without X-Signature (only when no webhookSecret is set). */
  allowUnsigned: v.optional(v.boolean(), false),
  /** Accept Segment's batched webhook form, where only the first event is signed. */
  acceptFirstEventSignature: v.optional(v.boolean(), false),
  destinations: v.optional(v.record(v.string(), v.unknown()), {}),
})

const ConfigSchema = v.object({
  sources: v.array(SourceSchema, 'sources must be an array'),
})

export interface DestinationConfig {
  enabled: boolean
  /** Partner origin without a trailing slash; undefined when neither set nor defaulted. */
  apiBase?: string
  /** The destination's own settings, parsed by its schema. */
  settings: unknown
}

export type SourceConfig = Omit<v.InferOutput<typeof SourceSchema>, 'destinations'> & {
  destinations: Record<string, DestinationConfig>
}

export interface RouterConfig {
  sources: SourceConfig[]
}

export type ConfigValidation = { ok: true; config: RouterConfig } | { ok: false; issues: InputIssue[] }

/**
 * Validates a whole config document and reports every problem by path
 * (structure, per-destination settings, duplicate names and write keys).
 */
export function validateConfig(input: unknown): ConfigValidation {
  const parsed = v.safeParse(ConfigSchema, input)
  if (!parsed.success) return { ok: false, issues: toInputIssues(parsed.issues) }

  const issues: InputIssue[] = []
  const sources = parsed.output.sources.map((source, index): SourceConfig => {
    const destinations: Record<string, DestinationConfig> = {}
    for (const [name, raw] of Object.entries(source.destinations)) {
      const path = `sources.${index}.destinations.${name}`
      const destination = parseDestination(name, raw, path, issues)
      if (destination) destinations[name] = destination
    }
    return { ...source, destinations }
  })

  findDuplicates(sources, 'name', issues)
  findDuplicates(sources, 'writeKey', issues)
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config: { sources } }
}

function parseDestination(
  name: string,
  raw: unknown,
  path: string,
  issues: InputIssue[],
): DestinationConfig | undefined {
  const definition = findDestination(name)
  if (!definition) {
    issues.push({
      path,
      message: `unknown destination "${name}" (names are Segment catalog names, case sensitive)`,
    })
    return undefined
  }
  const common = v.safeParse(CommonDestinationSettings, raw)
  const own = v.safeParse(definition.settings, raw)
  if (!common.success) issues.push(...toInputIssues(common.issues, path))
  if (!own.success) issues.push(...toInputIssues(own.issues, path))
  if (!common.success || !own.success) return undefined
  const apiBase = common.output.apiBase ?? definition.defaultApiBase
  return { enabled: common.output.enabled, settings: own.output, ...(apiBase && { apiBase }) }
}

function findDuplicates(sources: SourceConfig[], key: 'name' | 'writeKey', issues: InputIssue[]): void {
  const seen = new Map<string, number>()
  sources.forEach((source, index) => {
    const first = seen.get(source[key])
    if (first === undefined) seen.set(source[key], index)
    else
      issues.push({ path: `sources.${index}.${key}`, message: `${key} duplicates sources.${first}.${key}` })
  })
}
