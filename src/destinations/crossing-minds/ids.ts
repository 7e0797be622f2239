/**
 * Ids as the database takes them (Python client `_id2body`/`_id2url`): its id
 * types come from the login response, so the same userId may be a number, a
 * base64url string or the string itself.
 */

import { type Dropped, type InteractionPlan, type InteractionSubject, valueKindOf } from './mapping'

/** The database's id types, from the login response (`database.*_id_type`). */
export interface IdTypes {
  user: string
  item: string
  session: string
}

const encoder = new TextEncoder()

function base64UrlOfUtf8(text: string): string {
  let binary = ''
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/**
 * An id as the JSON body wants it (Python client `_id2body`): numbers for int
 * types, unpadded base64url for `bytes*`, the string otherwise. Undefined when
 * the id cannot be of that type (e.g. `abc` for `uint32`).
 */
export function encodeIdForBody(id: string, idType: string | undefined): string | number | undefined {
  if (idType && valueKindOf(idType) === 'integer') {
    if (!/^-?\d+$/.test(id)) return undefined
    const number = Number(id)
    return Number.isSafeInteger(number) && (number >= 0 || idType.startsWith('int')) ? number : undefined
  }
  if (idType?.startsWith('bytes')) return base64UrlOfUtf8(id)
  return id
}

/** An id inside a URL path: the body form, URL-escaped (Python client `_id2url`). */
export function encodeIdForPath(id: string, idType: string | undefined): string | undefined {
  const encoded = encodeIdForBody(id, idType)
  return encoded === undefined ? undefined : encodeURIComponent(String(encoded))
}

/** A plan with its ids encoded for the database's id types. */
export interface EncodedInteractionPlan {
  kind: InteractionSubject['kind']
  subjectForBody: string | number
  subjectForPath: string
  interactions: { item_id: string | number; interaction_type: string; timestamp: number }[]
}

export function encodeInteractionPlan(
  plan: InteractionPlan,
  idTypes: IdTypes,
): EncodedInteractionPlan | Dropped {
  const subjectType = plan.subject.kind === 'user' ? idTypes.user : idTypes.session
  const subjectForBody = encodeIdForBody(plan.subject.id, subjectType)
  const subjectForPath = encodeIdForPath(plan.subject.id, subjectType)
  if (subjectForBody === undefined || subjectForPath === undefined)
    return {
      status: 'dropped',
      reason: plan.subject.kind === 'user' ? 'invalid_user_id' : 'invalid_session_id',
      detail: `id does not fit the database's ${subjectType} ${plan.subject.kind} ids`,
    }
  const interactions: EncodedInteractionPlan['interactions'] = []
  for (const interaction of plan.interactions) {
    const itemId = encodeIdForBody(interaction.itemId, idTypes.item)
    if (itemId === undefined)
      return {
        status: 'dropped',
        reason: 'invalid_item_id',
        detail: `product id "${interaction.itemId}" does not fit the database's ${idTypes.item} item ids`,
      }
    interactions.push({
      item_id: itemId,
      interaction_type: interaction.interactionType,
      timestamp: interaction.timestamp,
    })
  }
  return { kind: plan.subject.kind, subjectForBody, subjectForPath, interactions }
}
