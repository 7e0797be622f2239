import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { classifyCrowdPowerResponse } from '../../../src/destinations/crowdpower/client'
import {
  chargeRequest,
  customersBulkRequest,
  eventRequest,
  eventsBulkRequest,
  mapEventToCrowdPower,
  revenueToAmount,
  toCrowdPowerAttributes,
} from '../../../src/destinations/crowdpower/mapping'
import {
  type CrowdPowerSettings,
  CrowdPowerSettingsSchema,
} from '../../../src/destinations/crowdpower/settings'
import { segmentEvent } from './fixtures'

const minor: CrowdPowerSettings = { apiKey: 'pk_x', revenueUnit: 'minor' }
const major: CrowdPowerSettings = { apiKey: 'pk_x', revenueUnit: 'major' }
/** 2024-05-01T10:00:00Z, the builders' event timestamp. */
const EVENT_SECONDS = 1714557600

describe('CrowdPower settings', () => {
  it('defaults revenueUnit to minor and strips the router keys', () => {
    expect(
      v.parse(CrowdPowerSettingsSchema, { apiKey: 'pk_1', enabled: false, apiBase: 'http://x' }),
    ).toEqual({
      apiKey: 'pk_1',
      revenueUnit: 'minor',
    })
  })

  it('requires the key and a known revenue unit', () => {
    expect(v.safeParse(CrowdPowerSettingsSchema, {}).success).toBe(false)
    expect(v.safeParse(CrowdPowerSettingsSchema, { apiKey: 'pk_1', revenueUnit: 'cents' }).success).toBe(
      false,
    )
  })
})

describe('CrowdPower attributes', () => {
  it('snake_cases keys at every depth and turns ISO dates on _at/At/Date keys into Unix seconds', () => {
    expect(
      toCrowdPowerAttributes({
        planName: 'pro',
        'Seat Count': 3,
        trialEndsAt: '2024-05-01T10:00:00Z',
        renewed_at: '2024-05-01',
        trial_start_date: '2024-05-01T10:00:00.000Z',
        lastSeenDate: '2024-05-01T12:00:00+02:00',
        birthday: '1990-01-02',
        updated_at: 1714557600.7,
        synced_at: '1714557600',
        broken_at: 'yesterday',
        dueDate: 'soon',
        nothing: null,
        address: { postalCode: '75001', movedInAt: '2024-05-01T10:00:00Z' },
        products: [{ productId: 'p1' }, 'x'],
      }),
    ).toEqual({
      plan_name: 'pro',
      seat_count: 3,
      trial_ends_at: EVENT_SECONDS,
      renewed_at: 1714521600,
      trial_start_at: EVENT_SECONDS,
      last_seen_at: EVENT_SECONDS,
      // Only the date keys convert: an ISO value under another key stays a string.
      birthday: '1990-01-02',
      updated_at: EVENT_SECONDS,
      synced_at: EVENT_SECONDS,
      due_date: 'soon',
      address: { postal_code: '75001', moved_in_at: EVENT_SECONDS },
      products: [{ product_id: 'p1' }, 'x'],
    })
  })
})

describe('CrowdPower identify', () => {
  it('maps the named traits to customer fields and every other trait to custom_attributes', () => {
    const event = segmentEvent('identify', {
      userId: 'u-1',
      context: { ip: '203.0.113.9' },
      traits: {
        email: 'jo@example.com',
        name: 'Jo Doe',
        firstName: 'Jo',
        last_name: 'Doe',
        phone: '+33123456789',
        createdAt: '2020-03-07T07:34:03Z',
        plan: 'pro',
        accountCreatedAt: '2024-05-01T10:00:00Z',
        first_time_shopper: true,
      },
    })
    expect(mapEventToCrowdPower(event, minor)).toEqual({
      route: 'customers',
      user: { user_id: 'u-1' },
      customer: {
        user_id: 'u-1',
        email: 'jo@example.com',
        name: 'Jo Doe',
        first_name: 'Jo',
        last_name: 'Doe',
        phone: '+33123456789',
        signed_up_at: 1583566443,
        ip: '203.0.113.9',
        custom_attributes: { plan: 'pro', account_created_at: EVENT_SECONDS, first_time_shopper: true },
      },
    })
  })

  it('identifies by email when there is no userId, and drops missing_user_id without either', () => {
    const byEmail = segmentEvent('identify', { anonymousId: 'a', traits: { email: 'jo@example.com' } })
    expect(mapEventToCrowdPower(byEmail, minor)).toEqual({
      route: 'customers',
      user: { email: 'jo@example.com' },
      customer: { email: 'jo@example.com' },
    })
    const anonymous = segmentEvent('identify', {
      anonymousId: 'a',
      traits: { email: 'not an email', plan: 'x' },
    })
    expect(mapEventToCrowdPower(anonymous, minor)).toMatchObject({ route: 'drop', reason: 'missing_user_id' })
  })

  it('sends an Engage audience exit as a false custom attribute', () => {
    const event = segmentEvent('identify', { userId: 'u-1', traits: { vip_customers: false } })
    expect(mapEventToCrowdPower(event, minor)).toMatchObject({
      customer: { user_id: 'u-1', custom_attributes: { vip_customers: false } },
    })
  })
})

describe('CrowdPower track and page', () => {
  it('maps a track to an event with snake_case properties and created_at in Unix seconds', () => {
    const event = segmentEvent('track', {
      userId: 'u-1',
      event: 'Product Viewed',
      properties: { productId: 'p1', price: 12.5, viewedAt: '2024-05-01T10:00:00Z' },
    })
    expect(mapEventToCrowdPower(event, minor)).toEqual({
      route: 'events',
      user: { user_id: 'u-1' },
      event: {
        action: 'Product Viewed',
        properties: { product_id: 'p1', price: 12.5, viewed_at: EVENT_SECONDS },
        created_at: EVENT_SECONDS,
      },
    })
  })

  it('maps Audience Entered with its audience key, and uses context.traits.email without a userId', () => {
    const event = segmentEvent('track', {
      anonymousId: 'a',
      event: 'Audience Entered',
      properties: { audience_key: 'vip', vip: true },
      context: { traits: { email: 'jo@example.com' } },
    })
    expect(mapEventToCrowdPower(event, minor)).toEqual({
      route: 'events',
      user: { email: 'jo@example.com' },
      event: {
        action: 'Audience Entered',
        properties: { audience_key: 'vip', vip: true },
        created_at: EVENT_SECONDS,
      },
    })
    const anonymous = segmentEvent('track', { anonymousId: 'a', event: 'Signed Up' })
    expect(mapEventToCrowdPower(anonymous, minor)).toMatchObject({ route: 'drop', reason: 'missing_user_id' })
  })

  it('turns a track with revenue into a charge only, ignoring its name and other properties', () => {
    const event = segmentEvent('track', {
      userId: 'u-1',
      event: 'Order Completed',
      properties: { revenue: 1200, order_id: 'o-1', currency: 'USD' },
    })
    expect(mapEventToCrowdPower(event, minor)).toEqual({
      route: 'charges',
      user: { user_id: 'u-1' },
      charge: { amount: 1200, created_at: EVENT_SECONDS },
    })
  })

  it('converts revenue by the revenueUnit setting and refuses what is not an amount', () => {
    expect(revenueToAmount(1200, 'minor')).toBe(1200)
    expect(revenueToAmount(12.4, 'minor')).toBe(12)
    expect(revenueToAmount(42.99, 'major')).toBe(4299)
    expect(revenueToAmount('19.90', 'major')).toBe(1990)
    expect(revenueToAmount(-5, 'minor')).toBeUndefined()
    expect(revenueToAmount('abc', 'major')).toBeUndefined()
    const event = segmentEvent('track', {
      userId: 'u',
      event: 'Order Completed',
      properties: { revenue: 42.99 },
    })
    expect(mapEventToCrowdPower(event, major)).toMatchObject({ charge: { amount: 4299 } })
    const refund = segmentEvent('track', {
      userId: 'u',
      event: 'Order Refunded',
      properties: { revenue: -10 },
    })
    expect(mapEventToCrowdPower(refund, minor)).toMatchObject({ route: 'drop', reason: 'invalid_revenue' })
  })

  it('treats a null revenue as no revenue', () => {
    const event = segmentEvent('track', { userId: 'u', event: 'Cart Viewed', properties: { revenue: null } })
    expect(mapEventToCrowdPower(event, minor)).toMatchObject({
      route: 'events',
      event: { action: 'Cart Viewed' },
    })
  })

  it('maps a page to a Page Viewed event, with reserved page properties from context.page as fallback', () => {
    const event = segmentEvent('page', {
      userId: 'u-1',
      name: 'Pricing',
      category: 'Docs',
      properties: { title: 'Pricing | Acme', planShown: 'pro' },
      context: {
        page: { url: 'https://acme.test/pricing', path: '/pricing', title: 'ignored', referrer: '' },
      },
    })
    expect(mapEventToCrowdPower(event, minor)).toEqual({
      route: 'events',
      user: { user_id: 'u-1' },
      event: {
        action: 'Page Viewed',
        properties: {
          name: 'Pricing',
          category: 'Docs',
          url: 'https://acme.test/pricing',
          path: '/pricing',
          title: 'Pricing | Acme',
          referrer: '',
          plan_shown: 'pro',
        },
        created_at: EVENT_SECONDS,
      },
    })
  })

  it('reads created_at and date attributes exactly as Date.parse would, in every ISO form', () => {
    const timestamps = [
      '2024-05-01T10:00:00.000Z',
      '2024-05-01T10:00:00Z',
      '2024-05-01T10:00:00.999Z',
      '1969-12-31T23:59:59.500Z',
      '0050-01-01T00:00:00.000Z',
      // Past the month's end rolls over to the next month, as Date.parse does.
      '2023-02-29T12:00:00.000Z',
      '2024-04-31T00:00:00Z',
      '2024-01-01T24:00:00Z',
      '2024-05-01T12:00:00.123456Z',
      '2024-05-01T12:00:00+02:00',
    ]
    for (const timestamp of timestamps) {
      const seconds = Math.floor(Date.parse(timestamp) / 1000)
      const event = segmentEvent('track', { userId: 'u', event: 'Signed Up', timestamp })
      expect(mapEventToCrowdPower(event, minor)).toMatchObject({ event: { created_at: seconds } })
      expect(toCrowdPowerAttributes({ seenAt: timestamp, trialDate: timestamp })).toEqual({
        seen_at: seconds,
        trial_at: seconds,
      })
    }
  })

  it('keeps the page property order: name, category, reserved, then the rest; own properties win', () => {
    const properties = JSON.parse(
      '{"2":"two","$3":"three","title":"T","url":null,"name":"override","planShown":"pro","__proto__":{"a":1},"Category":"C"}',
    )
    const event = segmentEvent('page', {
      userId: 'u-1',
      name: 'Pricing',
      category: 'Docs',
      properties,
      context: { page: { url: 'https://acme.test/', path: '/ctx', title: 'ignored', search: '?q' } },
    })
    const call = mapEventToCrowdPower(event, minor)
    expect(call.route === 'events' && JSON.stringify(call.event.properties)).toBe(
      JSON.stringify({
        2: 'two',
        3: 'three',
        name: 'override',
        category: 'C',
        path: '/ctx',
        title: 'T',
        search: '?q',
        plan_shown: 'pro',
        proto: { a: 1 },
      }),
    )
  })

  it('drops group (and any call it does not take) as unsupported_call', () => {
    expect(mapEventToCrowdPower(segmentEvent('group', { userId: 'u', groupId: 'g' }), minor)).toMatchObject({
      route: 'drop',
      reason: 'unsupported_call',
    })
  })
})

describe('CrowdPower requests and errors', () => {
  it('builds the bulk bodies: customers as a list, events per user', () => {
    expect(customersBulkRequest([{ user_id: 'a' }, { email: 'b@example.com' }])).toEqual({
      method: 'POST',
      path: '/customers/bulk',
      body: { customers: [{ user_id: 'a' }, { email: 'b@example.com' }] },
    })
    expect(eventsBulkRequest({ user_id: 'a' }, [{ action: 'X', created_at: 1 }])).toEqual({
      method: 'POST',
      path: '/events/bulk',
      body: { user_id: 'a', events: [{ action: 'X', created_at: 1 }] },
    })
  })

  it('puts the user first in single bodies, as partners see them', () => {
    const event = { action: 'X', properties: { a: 1 }, created_at: 1 }
    expect(JSON.stringify(eventRequest({ email: 'b@example.com' }, event).body)).toBe(
      '{"email":"b@example.com","action":"X","properties":{"a":1},"created_at":1}',
    )
    expect(JSON.stringify(chargeRequest({ user_id: 'a' }, { amount: 5, created_at: 1 }).body)).toBe(
      '{"user_id":"a","amount":5,"created_at":1}',
    )
  })

  it("keeps CrowdPower's message as the reason of a permanent failure", () => {
    const outcome = classifyCrowdPowerResponse(
      {
        status: 422,
        headers: new Headers(),
        body: { success: false, code: 422, message: 'action is required' },
      },
      0,
    )
    expect(outcome).toMatchObject({ status: 'failed', reason: 'action is required', partnerStatus: 422 })
  })
})
