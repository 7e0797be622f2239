import * as v from 'valibot'
import { findDestination } from '../destinations/registry'
import type { RateLimit } from '../destinations/types'
import { type InputIssue, toInputIssues } from '../lib/errors'
import { nestsDeeperThan } from '../lib/json-size'
import { isPlainObject, plainObject } from '../lib/objects'
import { wholeNumber } from '../lib/whole-number'
import { type AlertsConfig, AlertsSchema } from './alerts'
import { ConsentCategoriesSchema, ConsentMissingSchema } from './rules/consent'
import { type FieldControls, FieldControlsSchema } from './rules/fields'
import { type FilterRule, FiltersSchema } from './rules/filters'

/**
 * Names that would reach an object's prototype (or shadow what it inherits) if
 * they became keys of an object built from the document; valibot silently drops
 * them from its output, so they are refused where they appear instead.
 */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Not a limit of any partner, ours: a real config nests 6 levels (document, sources,
 * source, destinations, settings, a settings map); deep nesting would overflow the
 * recursive walks that copy and store the document, turning client input into a 500.
 */
export const MAX_CONFIG_DEPTH = 32

/** A ceiling on partner requests; `false` turns off the partner's default one. */
const RateLimitSchema = v.union(
  [
    v.literal(false),
    plainObject({
      requests: wholeNumber('requests', 1, 1e9),
      perSeconds: v.pipe(
        v.number('perSeconds must be a number'),
        v.minValue(0.001),
        v.maxValue(31 * 24 * 3600),
      ),
    }),
  ],
  'rateLimit must be {"requests": n, "perSeconds": s} or false',
)

/** Consecutive 401/403 answers that pause a destination on their own (N in README "Pause and resume"). */
const DEFAULT_PAUSE_AFTER_AUTH_FAILURES = 5

/** Settings every destination takes besides its own. */
const CommonDestinationSettings = v.looseObject({
  enabled: v.optional(v.boolean('enabled must be a boolean'), true),
  rateLimit: v.optional(RateLimitSchema),
  /** 0 never pauses on its own. */
  pauseAfterAuthFailures: v.optional(
    wholeNumber('pauseAfterAuthFailures', 0, 1000),
    DEFAULT_PAUSE_AFTER_AUTH_FAILURES,
  ),
  apiBase: v.optional(
    v.pipe(
      v.string(),
      v.url('apiBase must be a URL'),
      v.transform((url) => url.replace(/\/+$/, '')),
    ),
  ),
})

const SourceSchema = plainObject({
  name: v.pipe(
    v.string('name is required'),
    v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'name must be 1-64 letters, digits, _ or -'),
    v.check((name) => !RESERVED_NAMES.has(name), 'name is reserved'),
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
  /** For destinations that list `consent` categories: events without a consent object are sent, or dropped. */
  consentMissing: ConsentMissingSchema,
  destinations: v.optional(
    v.pipe(
      v.custom<Record<string, unknown>>(isPlainObject, 'destinations must be an object of name → settings'),
      v.record(v.string(), v.unknown()),
    ),
    {},
  ),
})

const ConfigSchema = plainObject(
  { sources: v.array(SourceSchema, 'sources must be an array'), alerts: v.optional(AlertsSchema) },
  'the config document must be a JSON object',
)

export interface DestinationConfig {
  enabled: boolean
  /** Partner origin without a trailing slash; undefined when neither set nor defaulted. */
  apiBase?: string
  /** The destination's own settings, parsed by its schema. */
  settings: unknown
  /** Partner requests allowed across every isolate (the config's, else the partner's documented quota); null: none. */
  rateLimit: RateLimit | null
  /** Consecutive 401/403 answers that pause the destination; 0: never. */
  pauseAfterAuthFailures: number
  /** What may reach the partner; undefined when the destination has no rules (the common, cheap case). */
  rules?: DestinationRules
}

/** A destination's routing rules, parsed at validation so delivery only evaluates them. */
export interface DestinationRules {
  /** Consent categories the destination needs (all must be granted). */
  consent?: readonly string[]
  /** Destination filters, applied in order. */
  filters?: readonly FilterRule[]
  /** Field controls, applied to the event before the destination's mapping. */
  fields?: FieldControls
}

export type SourceConfig = Omit<v.InferOutput<typeof SourceSchema>, 'destinations'> & {
  destinations: Record<string, DestinationConfig>
}

export interface RouterConfig {
  sources: SourceConfig[]
  /** Absent: no alert is evaluated or recorded (README "Alerts"). */
  alerts?: AlertsConfig
}

export type ConfigValidation = { ok: true; config: RouterConfig } | { ok: false; issues: InputIssue[] }

/**
 * What must be checked before anything walks a document: its depth (so no
 * recursive copy or check overflows) and reserved names among its keys.
 */
export function configShapeIssues(input: unknown): InputIssue[] {
  if (nestsDeeperThan(input, MAX_CONFIG_DEPTH)) {
    return [{ path: '', message: `the document nests deeper than ${MAX_CONFIG_DEPTH} levels` }]
  }
  const issues: InputIssue[] = []
  findReservedKeys(input, '', issues)
  return issues
}

/** Recursion is bounded: only called on documents within MAX_CONFIG_DEPTH. */
function findReservedKeys(value: unknown, path: string, issues: InputIssue[]): void {
  const at = (key: string | number) => (path === '' ? String(key) : `${path}.${key}`)
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) findReservedKeys(item, at(index), issues)
    return
  }
  if (!isPlainObject(value)) return
  for (const [key, item] of Object.entries(value)) {
    if (RESERVED_NAMES.has(key)) issues.push({ path: at(key), message: `"${key}" is a reserved name` })
    else findReservedKeys(item, at(key), issues)
  }
}

/**
 * Validates a whole config document and reports every problem by path
 * (shape, structure, per-destination settings, duplicate names and write keys).
 */
export function validateConfig(input: unknown): ConfigValidation {
  const shapeIssues = configShapeIssues(input)
  if (shapeIssues.length > 0) return { ok: false, issues: shapeIssues }
  const parsed = v.safeParse(ConfigSchema, input)
  if (!parsed.success) return { ok: false, issues: toInputIssues(parsed.issues) }

  const issues: InputIssue[] = []
  const sources = parsed.output.sources.map((source, index): SourceConfig => {
    // No prototype: a lookup by a name from an event or a request finds a destination or nothing.
    const destinations: Record<string, DestinationConfig> = Object.create(null)
    for (const [name, raw] of Object.entries(source.destinations)) {
      const path = `sources.${index}.destinations.${name}`
      const destination = parseDestination(name, raw, path, issues)
      if (destination) destinations[name] = destination
    }
    return { ...source, destinations }
  })

  findDuplicates(sources, 'name', issues)
  findDuplicates(sources, 'writeKey', issues)
  const { alerts } = parsed.output
  return issues.length > 0
    ? { ok: false, issues }
    : { ok: true, config: { sources, ...(alerts && { alerts }) } }
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
  if (!isPlainObject(raw)) {
    issues.push({ path, message: 'settings must be a JSON object' })
    return undefined
  }
  const { settings, rules } = splitDestinationRules(raw, path, issues)
  const common = v.safeParse(CommonDestinationSettings, settings)
  const own = v.safeParse(definition.settings, settings)
  if (!common.success) issues.push(...toInputIssues(common.issues, path))
  if (!own.success) issues.push(...toInputIssues(own.issues, path))
  if (!common.success || !own.success || rules === null) return undefined
  const apiBase = common.output.apiBase ?? definition.defaultApiBase
  const { rateLimit } = common.output
  return {
    enabled: common.output.enabled,
    settings: own.output,
    rateLimit: rateLimit === false ? null : (rateLimit ?? definition.defaultRateLimit?.(own.output) ?? null),
    pauseAfterAuthFailures: common.output.pauseAfterAuthFailures,
    ...(apiBase && { apiBase }),
    ...(rules && { rules }),
  }
}

/** Keys of a destination entry that are routing rules, not settings: never handed to the destination. */
const RULE_KEYS: ReadonlySet<string> = new Set(['filters', 'fields', 'consent'])

const DestinationRulesSchema = v.object({
  filters: v.optional(FiltersSchema),
  fields: v.optional(FieldControlsSchema),
  consent: v.optional(ConsentCategoriesSchema),
})

/**
 * Splits a destination entry into its settings and its rules (parsed here, once:
 * a bad filter or path is a 400 at save time, never a surprise at delivery).
 * `rules` is undefined when there are none, null when they are invalid.
 */
function splitDestinationRules(
  raw: unknown,
  path: string,
  issues: InputIssue[],
): { settings: unknown; rules: DestinationRules | undefined | null } {
  if (!isPlainObject(raw) || !Object.keys(raw).some((key) => RULE_KEYS.has(key)))
    return { settings: raw, rules: undefined }
  const settings = Object.fromEntries(Object.entries(raw).filter(([key]) => !RULE_KEYS.has(key)))
  const parsed = v.safeParse(DestinationRulesSchema, raw)
  if (!parsed.success) {
    issues.push(...toInputIssues(parsed.issues, path))
    return { settings, rules: null }
  }
  const { filters, fields, consent } = parsed.output
  const rules: DestinationRules = {
    ...(filters && filters.length > 0 && { filters }),
    ...(fields && { fields }),
    ...(consent && { consent }),
  }
  return { settings, rules: Object.keys(rules).length > 0 ? rules : undefined }
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
