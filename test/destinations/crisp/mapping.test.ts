import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { classifyCrispResponse } from '../../../src/destinations/crisp/client'
import {
  addPeopleEventRequest,
  createProfileRequest,
  flattenForCrisp,
  mapTrackToPeopleEvent,
  mapTraitsToPeopleData,
  mapTraitsToProfileCard,
  nicknameFromTraits,
  normalizeEmail,
  trackIdentity,
  updatePeopleDataRequest,
  updateProfileRequest,
} from '../../../src/destinations/crisp/mapping'
import { CrispSettingsSchema, crispKeypair } from '../../../src/destinations/crisp/settings'
import { segmentEvent } from './fixtures'

const now = Date.parse('2024-05-01T10:00:00Z')

describe('Crisp settings', () => {
  it('defaults tier to plugin and the grace to 5 s, and strips the router keys', () => {
    const settings = v.parse(CrispSettingsSchema, {
      apiKey: 'id-1:key-1',
      websiteId: 'w1',
      enabled: true,
      apiBase: 'http://x',
    })
    expect(settings).toEqual({
      apiKey: 'id-1:key-1',
      websiteId: 'w1',
      tier: 'plugin',
      unknownUserGraceSeconds: 5,
    })
  })

  it('refuses an apiKey that is not identifier:key, an unknown tier and a missing websiteId', () => {
    expect(v.safeParse(CrispSettingsSchema, { apiKey: 'just-a-key', websiteId: 'w1' }).success).toBe(false)
    expect(v.safeParse(CrispSettingsSchema, { apiKey: 'a:b', websiteId: 'w1', tier: 'admin' }).success).toBe(
      false,
    )
    expect(v.safeParse(CrispSettingsSchema, { apiKey: 'a:b' }).success).toBe(false)
    expect(
      v.safeParse(CrispSettingsSchema, { apiKey: 'a:b', websiteId: 'w', unknownUserGraceSeconds: -1 })
        .success,
    ).toBe(false)
  })

  it('splits the keypair at the first colon', () => {
    const settings = v.parse(CrispSettingsSchema, { apiKey: 'ident:k:ey', websiteId: 'w1' })
    expect(crispKeypair(settings)).toEqual({ identifier: 'ident', key: 'k:ey' })
  })
})

describe('Crisp identify mapping', () => {
  it('normalises emails and refuses what is not one', () => {
    expect(normalizeEmail('  Jo@Example.COM ')).toBe('jo@example.com')
    expect(normalizeEmail('not-an-email')).toBeUndefined()
    expect(normalizeEmail(42)).toBeUndefined()
  })

  it('flattens keys that name object internals into plain data keys', () => {
    const traits = JSON.parse('{"__proto__":{"admin":true},"constructor":"c","email":"jo@example.com"}')
    const data = mapTraitsToPeopleData(traits, 'u1')
    expect(data).toEqual({ user_id: 'u1', proto_admin: true, constructor: 'c' })
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype)
  })

  it('takes the nickname from name, else first + last name in either casing', () => {
    expect(nicknameFromTraits({ name: 'Jo Doe', firstName: 'X' })).toBe('Jo Doe')
    expect(nicknameFromTraits({ firstName: 'Jo', lastName: 'Doe' })).toBe('Jo Doe')
    expect(nicknameFromTraits({ first_name: 'Jo' })).toBe('Jo')
    expect(nicknameFromTraits({ email: 'jo@example.com' })).toBeUndefined()
  })

  it('builds the profile card from name, phone and avatar; creation falls back to the email local part', () => {
    const traits = { email: 'jo@example.com', phone: 33123, avatar: 'https://img/jo.png', plan: 'pro' }
    expect(mapTraitsToProfileCard(traits, 'jo@example.com', { forCreate: true })).toEqual({
      email: 'jo@example.com',
      person: { nickname: 'jo', phone: '33123', avatar: 'https://img/jo.png' },
    })
    // An update never sends the fallback nickname, so it cannot overwrite a name set in Crisp.
    expect(mapTraitsToProfileCard(traits, 'jo@example.com', { forCreate: false })).toEqual({
      email: 'jo@example.com',
      person: { phone: '33123', avatar: 'https://img/jo.png' },
    })
  })

  it('sends every other trait as people data: user_id, sanitised keys, flattened values', () => {
    const data = mapTraitsToPeopleData(
      {
        email: 'jo@example.com',
        name: 'Jo',
        firstName: 'Jo',
        phone: '+331',
        avatar: 'https://img',
        plan: 'pro',
        'Plan Seats': 3,
        $browser: 'Firefox',
        verified: true,
        address: { city: 'Paris', postalCode: '75001' },
        tags: ['a', 'b'],
        products: [{ id: 1 }],
        nothing: null,
        createdAt: '2024-01-02T03:04:05Z',
      },
      'u-1',
    )
    expect(data).toEqual({
      user_id: 'u-1',
      plan: 'pro',
      Plan_Seats: 3,
      browser: 'Firefox',
      verified: true,
      address_city: 'Paris',
      address_postalCode: '75001',
      tags: 'a, b',
      createdAt: '2024-01-02T03:04:05Z',
    })
  })

  it('passes an Engage audience trait through as a boolean', () => {
    expect(mapTraitsToPeopleData({ first_time_shopper: true }, 'u-1')).toEqual({
      user_id: 'u-1',
      first_time_shopper: true,
    })
    expect(mapTraitsToPeopleData({ first_time_shopper: false }, undefined)).toEqual({
      first_time_shopper: false,
    })
  })
})

describe('Crisp track mapping', () => {
  it('makes a people event: the event name as text, flattened properties as data', () => {
    const event = segmentEvent('track', {
      userId: 'u-1',
      event: 'Order Completed',
      properties: {
        order_id: 'o-1',
        revenue: 42.5,
        coupon: null,
        products: [{ sku: 'x' }],
        'gift wrap': true,
      },
    })
    expect(mapTrackToPeopleEvent(event)).toEqual({
      text: 'Order Completed',
      data: { order_id: 'o-1', revenue: 42.5, gift_wrap: true },
    })
  })

  it('leaves data out when nothing is left of the properties', () => {
    expect(mapTrackToPeopleEvent(segmentEvent('track', { userId: 'u', event: 'Signed In' }))).toEqual({
      text: 'Signed In',
    })
  })

  it('maps Engage Audience Entered / Exited with the audience key', () => {
    const entered = segmentEvent('track', {
      userId: 'u',
      event: 'Audience Entered',
      properties: { audience_key: 'first_time_shopper', first_time_shopper: true },
    })
    const exited = segmentEvent('track', {
      userId: 'u',
      event: 'Audience Exited',
      properties: { audience_key: 'first_time_shopper', first_time_shopper: false },
    })
    expect(mapTrackToPeopleEvent(entered)).toEqual({
      text: 'Audience Entered',
      data: { audience_key: 'first_time_shopper', first_time_shopper: true },
    })
    expect(mapTrackToPeopleEvent(exited).data).toEqual({
      audience_key: 'first_time_shopper',
      first_time_shopper: false,
    })
  })

  it('identifies the user by userId, else by context.traits.email, else not at all', () => {
    expect(trackIdentity(segmentEvent('track', { userId: 'u-1', event: 'E' }))).toEqual({
      kind: 'userId',
      userId: 'u-1',
    })
    expect(
      trackIdentity(
        segmentEvent('track', {
          anonymousId: 'a',
          event: 'E',
          context: { traits: { email: 'Jo@Example.com' } },
        }),
      ),
    ).toEqual({ kind: 'email', email: 'jo@example.com' })
    expect(trackIdentity(segmentEvent('track', { anonymousId: 'a', event: 'E' }))).toEqual({ kind: 'none' })
  })

  it('flattens nothing into nothing', () => {
    expect(flattenForCrisp(undefined)).toEqual({})
  })
})

describe('Crisp requests', () => {
  it('addresses people by URL-encoded email under the website', () => {
    const card = { email: 'jo+1@example.com', person: { nickname: 'Jo' } }
    expect(createProfileRequest('w 1', card)).toEqual({
      method: 'POST',
      path: '/v1/website/w%201/people/profile',
      body: card,
    })
    expect(updateProfileRequest('w1', 'jo+1@example.com', card)).toMatchObject({
      method: 'PATCH',
      path: '/v1/website/w1/people/profile/jo%2B1%40example.com',
    })
    expect(updatePeopleDataRequest('w1', 'jo@example.com', { a: 1 })).toEqual({
      method: 'PATCH',
      path: '/v1/website/w1/people/data/jo%40example.com',
      body: { data: { a: 1 } },
    })
    expect(addPeopleEventRequest('w1', 'jo@example.com', { text: 'E' })).toEqual({
      method: 'POST',
      path: '/v1/website/w1/people/events/jo%40example.com',
      body: { text: 'E' },
    })
  })
})

describe('Crisp error classification', () => {
  const response = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    body,
    headers: new Headers(headers),
  })

  it('retries 420 Enhance Your Calm like a 429, keeping the 420', () => {
    expect(
      classifyCrispResponse(response(420, { error: true, reason: 'rate_limited', data: {} }), now),
    ).toMatchObject({
      status: 'retry',
      error: 'rate_limited',
      partnerStatus: 420,
    })
    expect(classifyCrispResponse(response(420, '', { 'retry-after': '30' }), now)).toMatchObject({
      status: 'retry',
      error: 'http_420',
      partnerStatus: 420,
      retryAfterSeconds: 30,
    })
  })

  it("fails other 4xx with Crisp's reason", () => {
    expect(
      classifyCrispResponse(
        response(400, { error: true, reason: 'invalid_data', data: { message: 'x' } }),
        now,
      ),
    ).toMatchObject({ status: 'failed', reason: 'invalid_data', partnerStatus: 400 })
  })
})
