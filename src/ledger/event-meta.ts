import type { SegmentEvent } from '../segment/schema'
import type { EventMeta } from './types'

/** What the ledger keeps of an event for search and the dashboard. */
export function eventMeta(event: SegmentEvent): EventMeta {
  return { type: event.type, name: eventName(event), userId: event.userId ?? null }
}

function eventName(event: SegmentEvent): string | null {
  if (event.type === 'track') return event.event
  if (event.type === 'page' || event.type === 'screen') return event.name ?? null
  if (event.type === 'group') return event.groupId
  return null
}
