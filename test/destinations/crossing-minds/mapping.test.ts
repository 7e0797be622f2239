import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import {
  classifyCrossingMindsResponse,
  jwtLifetimeMs,
  parseCrossingMindsError,
} from '../../../src/destinations/crossing-minds/client'
import {
  encodeIdForBody,
  encodeIdForPath,
  encodeInteractionPlan,
} from '../../../src/destinations/crossing-minds/ids'
import {
  buildUserPatch,
  conformToDeclared,
  INTERACTION_EVENTS,
  type InteractionPlan,
  isDropped,
  mapIdentifyToUserUpdate,
  mapTrackToInteractions,
  type PropertySpec,
  propertiesToDeclare,
  type UserPropertiesUpdate,
} from '../../../src/destinations/crossing-minds/mapping'
import { buildInteractionsRequest } from '../../../src/destinations/crossing-minds/requests'
import { CrossingMindsSettingsSchema } from '../../../src/destinations/crossing-minds/settings'
import { CM_RAW_SETTINGS, EVENT_UNIX_SECONDS, event } from './fixtures'

const NO_TYPES = { user: 'urlsafe64', item: 'urlsafe64', session: 'urlsafe64' }

function update(traits: Record<string, unknown>, userId = 'u1'): UserPropertiesUpdate {
  const mapped = mapIdentifyToUserUpdate(event('identify', { userId, traits }))
  if (isDropped(mapped)) throw new Error(`unexpected drop ${mapped.reason}`)
  return mapped
}

function plan(
  fields: Record<string, unknown>,
  interactionTypes: Record<string, string> = {},
): InteractionPlan {
  const mapped = mapTrackToInteractions(event('track', { userId: 'u1', ...fields }), { interactionTypes })
  if (isDropped(mapped)) throw new Error(`unexpected drop ${mapped.reason}`)
  return mapped
}

describe('Crossing Minds settings', () => {
  it('requires the three login settings and strips the router keys', () => {
    const parsed = v.parse(CrossingMindsSettingsSchema, {
      ...CM_RAW_SETTINGS,
      enabled: true,
      apiBase: 'http://x',
    })
    expect(parsed).toEqual({ ...CM_RAW_SETTINGS, interactionTypes: {} })
    for (const missing of ['apiKey', 'apiPassword', 'apiDatabaseId']) {
      const raw: Record<string, unknown> = { ...CM_RAW_SETTINGS }
      delete raw[missing]
      expect(v.safeParse(CrossingMindsSettingsSchema, raw).success, missing).toBe(false)
    }
    expect(
      v.safeParse(CrossingMindsSettingsSchema, {
        ...CM_RAW_SETTINGS,
        interactionTypes: { 'Product Viewed': 1 },
      }).success,
    ).toBe(false)
  })
})

describe('track → interactions', () => {
  it('accepts exactly the Browsing, Core Ordering, Wishlisting, Sharing and Reviewing events', () => {
    for (const name of [
      'Products Searched',
      'Product Viewed',
      'Order Completed',
      'Product Added to Wishlist',
    ])
      expect(INTERACTION_EVENTS.has(name), name).toBe(true)
    for (const name of ['Cart Shared', 'Product Reviewed', 'Order Cancelled', 'Product List Filtered'])
      expect(INTERACTION_EVENTS.has(name), name).toBe(true)
    for (const name of ['Promotion Viewed', 'Coupon Applied', 'Signed Up', 'product viewed'])
      expect(INTERACTION_EVENTS.has(name), name).toBe(false)
    expect(INTERACTION_EVENTS.size).toBe(22)
  })

  it('maps product_id to one interaction typed by the event name, timestamp in Unix seconds', () => {
    expect(plan({ event: 'Product Viewed', properties: { product_id: 'sku-1', price: 3 } })).toEqual({
      subject: { kind: 'user', id: 'u1' },
      interactions: [{ itemId: 'sku-1', interactionType: 'Product Viewed', timestamp: EVENT_UNIX_SECONDS }],
    })
  })

  it('uses the interactionTypes setting when it maps the event', () => {
    const mapped = plan(
      { event: 'Product Added', properties: { product_id: 7 } },
      { 'Product Added': 'addToCart' },
    )
    expect(mapped.interactions).toEqual([
      { itemId: '7', interactionType: 'addToCart', timestamp: EVENT_UNIX_SECONDS },
    ])
  })

  it('maps products[] to one interaction per distinct product_id', () => {
    const mapped = plan({
      event: 'Order Completed',
      properties: {
        order_id: 'o1',
        products: [{ product_id: 'a' }, { product_id: 'b' }, { product_id: 'a' }, {}],
      },
    })
    expect(mapped.interactions.map((interaction) => interaction.itemId)).toEqual(['a', 'b'])
  })

  it('sends a track without userId to the anonymousId session', () => {
    const mapped = mapTrackToInteractions(
      event('track', { anonymousId: 'anon-1', event: 'Product Clicked', properties: { product_id: 'p' } }),
      { interactionTypes: {} },
    )
    expect(mapped).toMatchObject({ subject: { kind: 'session', id: 'anon-1' } })
  })

  it('drops other events as unsupported_event, Engage audience tracks included', () => {
    for (const name of ['Signed Up', 'Promotion Viewed', 'Audience Entered', 'Audience Exited']) {
      const mapped = mapTrackToInteractions(
        event('track', { userId: 'u1', event: name, properties: { product_id: 'p', audience_key: 'vip' } }),
        { interactionTypes: {} },
      )
      expect(mapped, name).toMatchObject({ status: 'dropped', reason: 'unsupported_event' })
    }
    const audience = mapTrackToInteractions(
      event('track', {
        userId: 'u1',
        event: 'Audience Entered',
        properties: { audience_key: 'vip', vip: true },
      }),
      { interactionTypes: {} },
    )
    expect(isDropped(audience) && audience.detail).toContain('Engage')
  })

  it('drops a listed event with no product id as missing_item_id', () => {
    for (const properties of [{ query: 'shoes' }, { products: [{ sku: 'x' }] }, { product_id: '  ' }]) {
      const mapped = mapTrackToInteractions(
        event('track', { userId: 'u1', event: 'Products Searched', properties }),
        {
          interactionTypes: {},
        },
      )
      expect(mapped).toMatchObject({ status: 'dropped', reason: 'missing_item_id' })
    }
  })
})

describe('identify → user properties', () => {
  it('drops an identify without userId as missing_user_id', () => {
    const mapped = mapIdentifyToUserUpdate(event('identify', { anonymousId: 'a1', traits: { plan: 'pro' } }))
    expect(mapped).toMatchObject({ status: 'dropped', reason: 'missing_user_id' })
  })

  it('infers unicode, float64 and bool, and repeated lists', () => {
    const mapped = update({
      plan: 'pro',
      seats: 3,
      ratio: 0.5,
      admin: false,
      tags: ['a', 'b'],
      scores: [1, 2],
    })
    expect(mapped.properties).toEqual([
      { spec: { name: 'plan', valueType: 'unicode', repeated: false }, value: 'pro' },
      { spec: { name: 'seats', valueType: 'float64', repeated: false }, value: 3 },
      { spec: { name: 'ratio', valueType: 'float64', repeated: false }, value: 0.5 },
      { spec: { name: 'admin', valueType: 'bool', repeated: false }, value: false },
      { spec: { name: 'tags', valueType: 'unicode', repeated: true }, value: ['a', 'b'] },
      { spec: { name: 'scores', valueType: 'float64', repeated: true }, value: [1, 2] },
    ])
  })

  it('turns Engage audience traits into bool properties', () => {
    expect(update({ first_time_shopper: true }).properties).toEqual([
      { spec: { name: 'first_time_shopper', valueType: 'bool', repeated: false }, value: true },
    ])
  })

  it('flattens nested objects with dots and sanitises names', () => {
    const mapped = update({ address: { city: 'Paris', geo: { lat: 1 } }, 'Plan Name': 'x', $browser: 'ff' })
    expect(mapped.properties.map(({ spec }) => spec.name)).toEqual([
      'address.city',
      'address.geo.lat',
      'Plan_Name',
      'browser',
    ])
  })

  it('caps names at 64 characters and skips reserved names, case duplicates and untyped values', () => {
    const long = 'x'.repeat(70)
    const mapped = update({
      [long]: 1,
      user_id: 'u',
      ITEM_ID: 'i',
      Plan: 'a',
      plan: 'b',
      empty: [],
      mixed: [1, 'a'],
    })
    expect(mapped.properties.map(({ spec }) => spec.name)).toEqual(['x'.repeat(64), 'Plan', 'mixed'])
    expect(mapped.properties[2]).toEqual({
      spec: { name: 'mixed', valueType: 'unicode', repeated: true },
      value: ['1', 'a'],
    })
    expect(mapped.skipped).toEqual(['user_id', 'ITEM_ID', 'plan', 'empty'])
  })

  it('declares only what the database lacks, case-insensitively, first type wins', () => {
    const declared = new Map<string, PropertySpec>([
      ['plan', { name: 'Plan', valueType: 'unicode', repeated: false }],
    ])
    const missing = propertiesToDeclare(
      [update({ plan: 'x', seats: 2 }), update({ SEATS: 'many', vip: true })],
      declared,
    )
    expect(missing).toEqual([
      { name: 'seats', valueType: 'float64', repeated: false },
      { name: 'vip', valueType: 'bool', repeated: false },
    ])
  })

  it('conforms values to the type a property was declared with', () => {
    const spec = (valueType: string, repeated = false): PropertySpec => ({ name: 'p', valueType, repeated })
    expect(conformToDeclared(42, spec('unicode'))).toBe('42')
    expect(conformToDeclared(true, spec('unicode64'))).toBe('true')
    expect(conformToDeclared('3.5', spec('float64'))).toBe(3.5)
    expect(conformToDeclared(3.5, spec('int64'))).toBeUndefined()
    expect(conformToDeclared('12', spec('uint32'))).toBe(12)
    expect(conformToDeclared('true', spec('bool'))).toBe(true)
    expect(conformToDeclared('yes', spec('bool'))).toBeUndefined()
    expect(conformToDeclared('a', spec('unicode', true))).toEqual(['a'])
    expect(conformToDeclared(['a'], spec('unicode'))).toBeUndefined()
    expect(conformToDeclared([1, 2], spec('unicode', true))).toEqual(['1', '2'])
    expect(conformToDeclared('abc', spec('bytes16'))).toBeUndefined()
  })

  it('builds the PATCH body with declared names and leaves out values that cannot conform', () => {
    const declared = new Map<string, PropertySpec>([
      ['plan', { name: 'Plan', valueType: 'unicode', repeated: false }],
      ['seats', { name: 'seats', valueType: 'int32', repeated: false }],
    ])
    expect(buildUserPatch(update({ plan: 'pro', seats: 2.5, user_id: 'x' }), declared)).toEqual({
      user: { Plan: 'pro' },
      skipped: ['user_id', 'seats'],
    })
  })
})

describe('ids', () => {
  it('encodes ids per the database id type', () => {
    expect(encodeIdForBody('123', 'uint32')).toBe(123)
    expect(encodeIdForBody('-5', 'int64')).toBe(-5)
    expect(encodeIdForBody('-5', 'uint64')).toBeUndefined()
    expect(encodeIdForBody('abc', 'int32')).toBeUndefined()
    expect(encodeIdForBody('ab?', 'bytes16')).toBe('YWI_')
    expect(encodeIdForBody('a b/c', 'urlsafe64')).toBe('a b/c')
    expect(encodeIdForPath('a b/c', 'urlsafe64')).toBe('a%20b%2Fc')
    expect(encodeIdForPath('42', 'uint32')).toBe('42')
  })

  it('drops a plan whose ids cannot fit the database', () => {
    const numericItems = { ...NO_TYPES, item: 'uint32' }
    expect(
      encodeInteractionPlan(plan({ event: 'Product Viewed', properties: { product_id: 'x' } }), numericItems),
    ).toMatchObject({
      status: 'dropped',
      reason: 'invalid_item_id',
    })
    expect(
      encodeInteractionPlan(plan({ event: 'Product Viewed', properties: { product_id: '9' } }), numericItems),
    ).toMatchObject({
      interactions: [{ item_id: 9 }],
    })
  })
})

describe('interaction requests', () => {
  function encoded(userId: string, productIds: string[], anonymous = false) {
    const mapped = mapTrackToInteractions(
      event('track', {
        ...(anonymous ? { anonymousId: userId } : { userId }),
        event: 'Order Completed',
        properties: { products: productIds.map((product_id) => ({ product_id })) },
      }),
      { interactionTypes: {} },
    )
    if (isDropped(mapped)) throw new Error('dropped')
    const result = encodeInteractionPlan(mapped, NO_TYPES)
    if (isDropped(result)) throw new Error('dropped')
    return result
  }

  it('uses the per-user bulk route for one user, several products in one request', () => {
    expect(buildInteractionsRequest([encoded('u/1', ['a', 'b'])])).toEqual({
      method: 'POST',
      path: '/v1/users/u%2F1/interactions-bulk/',
      body: {
        interactions: [
          { item_id: 'a', interaction_type: 'Order Completed', timestamp: EVENT_UNIX_SECONDS },
          { item_id: 'b', interaction_type: 'Order Completed', timestamp: EVENT_UNIX_SECONDS },
        ],
      },
    })
  })

  it('uses the many-users bulk route with user_id per row for several users', () => {
    const request = buildInteractionsRequest([encoded('u1', ['a']), encoded('u2', ['b'])])
    expect(request.path).toBe('/v1/interactions-bulk/')
    expect(request.body).toEqual({
      interactions: [
        { user_id: 'u1', item_id: 'a', interaction_type: 'Order Completed', timestamp: EVENT_UNIX_SECONDS },
        { user_id: 'u2', item_id: 'b', interaction_type: 'Order Completed', timestamp: EVENT_UNIX_SECONDS },
      ],
    })
  })

  it('uses the session routes for anonymous visitors', () => {
    expect(buildInteractionsRequest([encoded('s1', ['a'], true)]).path).toBe(
      '/v1/sessions/s1/interactions-bulk/',
    )
    const many = buildInteractionsRequest([encoded('s1', ['a'], true), encoded('s2', ['a'], true)])
    expect(many.path).toBe('/v1/sessions-interactions-bulk/')
    expect(many.body).toMatchObject({ interactions: [{ session_id: 's1' }, { session_id: 's2' }] })
  })
})

describe('client helpers', () => {
  it('reads a JWT lifetime from exp - iat, else exp - now, and tolerates tokens without exp', () => {
    const jwt = (claims: object) => `h.${btoa(JSON.stringify(claims)).replace(/=+$/, '')}.s`
    expect(jwtLifetimeMs(jwt({ iat: 1_700_000_000, exp: 1_700_000_300 }), 0)).toBe(300_000)
    expect(jwtLifetimeMs(jwt({ exp: 1_700_000_000 }), 1_699_999_000_000)).toBe(1_000_000)
    expect(jwtLifetimeMs('opaque-token', 0)).toBeUndefined()
    expect(jwtLifetimeMs(`h.${btoa('not json')}.s`, 0)).toBeUndefined()
  })

  it('parses the error envelope, string codes included', () => {
    expect(
      parseCrossingMindsError({
        error_code: '22',
        error_name: 'JwtTokenExpired',
        message: 'm',
        error_data: {},
      }),
    ).toEqual({ code: 22, name: 'JwtTokenExpired' })
    expect(parseCrossingMindsError('Bad Gateway')).toEqual({})
  })

  it('turns 429 retry_after into a retry hint and 400 into a failure named by error_name', () => {
    const now = Date.now()
    const throttled = classifyCrossingMindsResponse(
      {
        status: 429,
        headers: new Headers(),
        body: { error_code: 2, error_name: 'TooManyRequests', message: 'm', error_data: { retry_after: 12 } },
      },
      now,
    )
    expect(throttled).toMatchObject({ status: 'retry', retryAfterSeconds: 12, error: 'TooManyRequests' })
    const wrong = classifyCrossingMindsResponse(
      {
        status: 400,
        headers: new Headers(),
        body: {
          error_code: 40,
          error_name: 'WrongData',
          message: 'm',
          error_data: { name: 'WRONG_DATA_TYPE' },
        },
      },
      now,
    )
    expect(wrong).toMatchObject({ status: 'failed', reason: 'WrongData', partnerStatus: 400 })
  })
})
