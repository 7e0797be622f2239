import * as v from 'valibot'
import { isPlainObject } from '../lib/objects'

/**
 * The Segment Spec as valibot schemas. Lenient where Segment is: unknown keys
 * are kept (looseObject), `version` may be a number or a string, and
 * `integrations` values may be booleans or option objects.
 */

export const CALL_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const
export type CallType = (typeof CALL_TYPES)[number]

export const IsoDate = v.pipe(v.string(), v.isoTimestamp('must be an ISO-8601 timestamp'))
/** valibot's record alone also takes an array, silently turned into `{"0": …}`. */
const NotArray = v.check((input: unknown) => !Array.isArray(input), 'must be an object, not an array')
/**
 * A JSON object, kept as parsed: `v.record(v.string(), v.unknown())` would check and
 * copy every key of every context, traits and properties object, on every event.
 */
export const JsonObject = v.custom<Record<string, unknown>>(isPlainObject, (issue) =>
  Array.isArray(issue.input) ? 'must be an object, not an array' : `must be an object, not ${issue.received}`,
)

/** A user-supplied id: Segment libraries send strings; numbers are coerced the way Segment stores them. */
const Id = v.union([
  v.pipe(v.string(), v.minLength(1, 'must not be empty')),
  v.pipe(v.number(), v.transform(String)),
])

export const IntegrationsSchema = v.pipe(
  v.unknown(),
  NotArray,
  v.record(v.string(), v.union([v.boolean(), JsonObject])),
)

const commonEntries = {
  messageId: v.optional(
    v.pipe(v.string(), v.minLength(1), v.maxLength(100, 'must be at most 100 characters')),
  ),
  userId: v.optional(v.nullable(Id)),
  anonymousId: v.optional(v.nullable(Id)),
  context: v.optional(JsonObject),
  integrations: v.optional(IntegrationsSchema),
  timestamp: v.optional(IsoDate),
  originalTimestamp: v.optional(IsoDate),
  sentAt: v.optional(IsoDate),
  receivedAt: v.optional(IsoDate),
  version: v.optional(v.union([v.number(), v.string()])),
}

/** A missing required field names itself and the call ("event is required on track"), not valibot's "Invalid key". */
function missingField(type: CallType) {
  return (issue: v.BaseIssue<unknown>) =>
    issue.expected?.startsWith('"') ? `${issue.expected.slice(1, -1)} is required on ${type}` : issue.message
}

export const IdentifySchema = v.looseObject(
  {
    ...commonEntries,
    type: v.literal('identify'),
    traits: v.optional(JsonObject),
  },
  missingField('identify'),
)
export const TrackSchema = v.looseObject(
  {
    ...commonEntries,
    type: v.literal('track'),
    event: v.pipe(v.string('event is required on track'), v.minLength(1, 'event must not be empty')),
    properties: v.optional(JsonObject),
  },
  missingField('track'),
)
export const PageSchema = v.looseObject(
  {
    ...commonEntries,
    type: v.literal('page'),
    name: v.optional(v.nullable(v.string())),
    category: v.optional(v.nullable(v.string())),
    properties: v.optional(JsonObject),
  },
  missingField('page'),
)
export const ScreenSchema = v.looseObject(
  {
    ...commonEntries,
    type: v.literal('screen'),
    name: v.optional(v.nullable(v.string())),
    properties: v.optional(JsonObject),
  },
  missingField('screen'),
)
export const GroupSchema = v.looseObject(
  {
    ...commonEntries,
    type: v.literal('group'),
    groupId: Id,
    traits: v.optional(JsonObject),
  },
  missingField('group'),
)
export const AliasSchema = v.looseObject(
  {
    ...commonEntries,
    type: v.literal('alias'),
    previousId: Id,
    userId: Id,
  },
  missingField('alias'),
)

const CALL_SCHEMAS = [
  IdentifySchema,
  TrackSchema,
  PageSchema,
  ScreenSchema,
  GroupSchema,
  AliasSchema,
] as const

interface WhoFields {
  userId?: unknown
  anonymousId?: unknown
}

/** Every call names a user or an anonymous visitor (the issue is reported at `userId`). */
const namesSomeone = (event: WhoFields) =>
  typeof event.userId === 'string' || typeof event.anonymousId === 'string'
const SOMEONE_REQUIRED = 'userId or anonymousId is required'

/** Any one Segment call, chosen by its `type`. */
const SegmentEventSchema = v.pipe(
  v.variant('type', CALL_SCHEMAS, 'type must be one of identify, track, page, screen, group, alias'),
  // An arrow, so the check's input (and the schema's output) is the schema's own output type.
  v.forward(
    v.check((event) => namesSomeone(event), SOMEONE_REQUIRED),
    ['userId'],
  ),
)

/** Validates one Segment call. */
export function parseSegmentEvent(input: unknown) {
  return v.safeParse(SegmentEventSchema, input)
}

export type SegmentEventInput = v.InferOutput<typeof SegmentEventSchema>

/**
 * An accepted event as it travels through the queue: validated, with the fields
 * Segment's own servers fill in (`messageId`, `receivedAt`, `timestamp`) present.
 */
export type SegmentEvent = SegmentEventInput & {
  messageId: string
  receivedAt: string
  timestamp: string
}

export type EventOf<T extends CallType> = Extract<SegmentEvent, { type: T }>
