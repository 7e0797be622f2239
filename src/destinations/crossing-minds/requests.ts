/** The Crossing Minds API requests the router sends (partners.md §1.3–§1.5), built from mapped values. */

import type { ScalarOrList } from '../shared/values'
import type { PartnerRequest } from '../types'
import type { EncodedInteractionPlan } from './ids'
import type { PropertySpec } from './mapping'
import type { CrossingMindsSettings } from './settings'

export function loginRequest(settings: CrossingMindsSettings): PartnerRequest {
  return {
    method: 'POST',
    path: '/v1/login/service/',
    body: { name: settings.apiKey, password: settings.apiPassword, db_id: settings.apiDatabaseId },
  }
}

export function refreshRequest(refreshToken: string, settings: CrossingMindsSettings): PartnerRequest {
  return {
    method: 'POST',
    path: '/v1/login/refresh-token/',
    body: { refresh_token: refreshToken, db_id: settings.apiDatabaseId },
  }
}

export function declarePropertyRequest(spec: PropertySpec): PartnerRequest {
  return {
    method: 'POST',
    path: '/v1/users-properties/',
    body: { property_name: spec.name, value_type: spec.valueType, repeated: spec.repeated },
  }
}

export function getPropertyRequest(name: string): PartnerRequest {
  return { method: 'GET', path: `/v1/users-properties/${encodeURIComponent(name)}/` }
}

/** `PATCH … create_if_missing` is an upsert that keeps the user's other properties (partners.md §1.4). */
export function userPatchRequest(userIdPath: string, user: Record<string, ScalarOrList>): PartnerRequest {
  return {
    method: 'PATCH',
    path: `/v1/users/${userIdPath}/properties/`,
    body: { user, create_if_missing: true },
  }
}

/** The bulk form of `userPatchRequest` takes at most this many users (partners.md §1.4). */
export const MAX_BULK_USERS = 1_024

/** One partial upsert for several users, each row carrying its `user_id` (body form of the id). */
export function usersBulkPatchRequest(
  rows: readonly { userId: string | number; user: Record<string, ScalarOrList> }[],
): PartnerRequest {
  return {
    method: 'PATCH',
    path: '/v1/users-bulk/properties/',
    body: { users: rows.map(({ userId, user }) => ({ ...user, user_id: userId })), create_if_missing: true },
  }
}

/**
 * One request for several plans of one kind: the per-subject bulk route when they
 * share a subject, else the many-subjects bulk route with the subject in each row
 * (partners.md §1.5). A multi-product event is always one request.
 */
export function buildInteractionsRequest(plans: readonly EncodedInteractionPlan[]): PartnerRequest {
  const [first] = plans
  if (!first) throw new Error('buildInteractionsRequest needs at least one plan')
  const singleSubject = plans.every((plan) => plan.subjectForPath === first.subjectForPath)
  // Plain loops, not `flatMap`: a slow generic path in V8, and this runs once per track.
  const interactions: object[] = []
  if (singleSubject) {
    for (const plan of plans) for (const interaction of plan.interactions) interactions.push(interaction)
    const collection = first.kind === 'user' ? 'users' : 'sessions'
    return {
      method: 'POST',
      path: `/v1/${collection}/${first.subjectForPath}/interactions-bulk/`,
      body: { interactions },
    }
  }
  const subjectKey = first.kind === 'user' ? 'user_id' : 'session_id'
  for (const plan of plans)
    for (const interaction of plan.interactions)
      interactions.push({ [subjectKey]: plan.subjectForBody, ...interaction })
  return {
    method: 'POST',
    path: first.kind === 'user' ? '/v1/interactions-bulk/' : '/v1/sessions-interactions-bulk/',
    body: { interactions },
  }
}
