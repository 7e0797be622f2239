/** Pure Segment → Calixa mapping (partners.md §4.2, segment-wire.md §5): which events go, and as what request. */
import type { SegmentEvent } from '../../segment/schema'
import type { DeliveryOutcome, PartnerRequest } from '../types'
import { directDestinationHeaders } from './client'
import { CALIXA_NAME, type CalixaSettings } from './settings'

export type Dropped = Extract<DeliveryOutcome, { status: 'dropped' }>

/** The B2B SaaS tracks Calixa handled (readme.calixa.io + segment-docs calixa page). */
export const CALIXA_TRACK_EVENTS: ReadonlySet<string> = new Set([
  'Signed Up',
  'Account Created',
  'Account Deleted',
  'Account Added User',
  'Account Removed User',
])

/** `Signed Up` creates a user; `context.groupId` (the account joined) is optional there only. */
const GROUP_OPTIONAL_EVENTS: ReadonlySet<string> = new Set(['Signed Up'])

/** The B2B SaaS account of a track: `context.groupId`, never a property (segment-wire.md §5). */
export function contextGroupIdOf(event: SegmentEvent): string | undefined {
  const groupId = event.context?.groupId
  if (typeof groupId === 'string' && groupId.trim() !== '') return groupId
  if (typeof groupId === 'number' && Number.isFinite(groupId)) return String(groupId)
  return undefined
}

/** Calls that create or change a user: Calixa keys users by userId (partners.md §4.2), so an anonymous one cannot land. */
const USER_EVENTS: ReadonlySet<string> = new Set(['Signed Up', 'Account Added User', 'Account Removed User'])

/** Why Calixa would not take this event (endpoint aside), or undefined when it would. */
export function calixaDropReason(event: SegmentEvent): Dropped | undefined {
  const needsUser = event.type === 'identify' || (event.type === 'track' && USER_EVENTS.has(event.event))
  if (needsUser && !event.userId)
    return {
      status: 'dropped',
      reason: 'missing_user_id',
      detail: `${CALIXA_NAME} keys users by userId; this ${event.type} has none`,
    }
  if (event.type === 'identify' || event.type === 'group') return undefined
  if (event.type !== 'track') return { status: 'dropped', reason: 'unsupported_call' }
  if (!CALIXA_TRACK_EVENTS.has(event.event))
    return {
      status: 'dropped',
      reason: 'unsupported_event',
      detail: `"${event.event}" is not a B2B SaaS event Calixa handles`,
    }
  if (!GROUP_OPTIONAL_EVENTS.has(event.event) && contextGroupIdOf(event) === undefined)
    return {
      status: 'dropped',
      reason: 'missing_group_id',
      detail: `"${event.event}" needs the account in context.groupId`,
    }
  return undefined
}

/**
 * The raw Segment event, POSTed as-is to the configured endpoint (an absolute URL).
 * Without an endpoint nothing can go anywhere: `no_endpoint` for every event.
 */
export function mapEventToCalixaRequest(
  event: SegmentEvent,
  settings: CalixaSettings,
): PartnerRequest | Dropped {
  const { endpoint } = settings
  if (!endpoint)
    return {
      status: 'dropped',
      reason: 'no_endpoint',
      detail: 'Calixa has no public endpoint: set `endpoint`',
    }
  return (
    calixaDropReason(event) ?? {
      method: 'POST',
      path: endpoint,
      headers: directDestinationHeaders(settings),
      body: event,
    }
  )
}
