import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import {
  classifyCalixaResponse,
  directDestinationHeaders,
  forwardedSettings,
} from '../../../src/destinations/calixa/client'
import { CALIXA_TRACK_EVENTS, mapEventToCalixaRequest } from '../../../src/destinations/calixa/mapping'
import { type CalixaSettings, CalixaSettingsSchema } from '../../../src/destinations/calixa/settings'
import { B2B_SAAS_EVENTS } from '../../../src/segment/spec-events'
import { decodeSettingsHeader, event } from './fixtures'

const settings = (raw: Record<string, unknown>): CalixaSettings => v.parse(CalixaSettingsSchema, raw)
const WITH_ENDPOINT = settings({ apiKey: 'key', endpoint: 'https://calixa.example/segment' })

function outcomeOf(fields: Record<string, unknown>, type: 'identify' | 'track' | 'group' | 'page' = 'track') {
  const request = mapEventToCalixaRequest(event(type, { userId: 'u1', ...fields }), WITH_ENDPOINT)
  return 'status' in request ? request.reason : 'sent'
}

describe('Calixa settings', () => {
  it('requires apiKey, validates endpoint, and keeps custom settings for the settings header', () => {
    expect(v.safeParse(CalixaSettingsSchema, { endpoint: 'https://x.example' }).success).toBe(false)
    expect(v.safeParse(CalixaSettingsSchema, { apiKey: 'k', endpoint: 'not a url' }).success).toBe(false)
    expect(v.safeParse(CalixaSettingsSchema, { apiKey: 'k', endpoint: 'ftp://x.example/a' }).success).toBe(
      false,
    )
    expect(settings({ apiKey: 'k' })).toEqual({ apiKey: 'k' })
    expect(settings({ apiKey: 'k', region: 'eu' })).toEqual({ apiKey: 'k', region: 'eu' })
  })

  it('forwards every setting except apiKey and the router’s enabled/apiBase', () => {
    const all = settings({
      apiKey: 'k',
      endpoint: 'https://x.example/hook',
      enabled: true,
      apiBase: 'https://x.example',
      region: 'eu',
    })
    expect(forwardedSettings(all)).toEqual({ endpoint: 'https://x.example/hook', region: 'eu' })
  })
})

describe('Calixa headers', () => {
  it('sends Segment’s direct-destination headers', () => {
    const headers = directDestinationHeaders(
      settings({ apiKey: 'segment', endpoint: 'https://x.example/h', note: 'café' }),
    )
    // partners.md §0.3: key `segment` → `Basic c2VnbWVudDo=` (colon always present).
    expect(headers.authorization).toBe('Basic c2VnbWVudDo=')
    expect(headers['user-agent']).toBe('Segment.io/1.0')
    expect(headers['content-type']).toBe('application/json')
    expect(headers['cache-control']).toBe('no-cache')
    expect(headers.accept).toBe('application/json')
    expect(decodeSettingsHeader(headers['x-segment-settings'])).toEqual({
      endpoint: 'https://x.example/h',
      note: 'café',
    })
  })

  it('follows a settings change: the headers are cached per settings object, not per destination', () => {
    const before = settings({ apiKey: 'segment', endpoint: 'https://x.example/h' })
    const after = settings({ apiKey: 'rotated', endpoint: 'https://x.example/h', region: 'eu' })
    expect(directDestinationHeaders(before).authorization).toBe('Basic c2VnbWVudDo=')
    expect(directDestinationHeaders(after).authorization).toBe(`Basic ${btoa('rotated:')}`)
    expect(decodeSettingsHeader(directDestinationHeaders(after)['x-segment-settings'])).toEqual({
      endpoint: 'https://x.example/h',
      region: 'eu',
    })
    expect(directDestinationHeaders(before).authorization).toBe('Basic c2VnbWVudDo=')
  })
})

describe('Segment → Calixa', () => {
  it('posts the raw event to the endpoint', () => {
    const identify = event('identify', { userId: 'u1', traits: { email: 'a@b.co', firstName: 'Ada' } })
    const request = mapEventToCalixaRequest(identify, WITH_ENDPOINT)
    expect(request).toMatchObject({ method: 'POST', path: 'https://calixa.example/segment' })
    expect('body' in request && request.body).toBe(identify)
  })

  it('takes identify and group', () => {
    expect(outcomeOf({}, 'identify')).toBe('sent')
    expect(outcomeOf({ groupId: 'acct_1' }, 'group')).toBe('sent')
  })

  it('takes the five B2B tracks, with the account in context.groupId', () => {
    expect(
      [...CALIXA_TRACK_EVENTS].every((name) => (B2B_SAAS_EVENTS as readonly string[]).includes(name)),
    ).toBe(true)
    for (const name of CALIXA_TRACK_EVENTS)
      expect(outcomeOf({ event: name, context: { groupId: 'acct_1' } }), name).toBe('sent')
    expect(outcomeOf({ event: 'Signed Up' })).toBe('sent')
    for (const name of ['Account Created', 'Account Deleted', 'Account Added User', 'Account Removed User']) {
      expect(outcomeOf({ event: name }), name).toBe('missing_group_id')
      expect(outcomeOf({ event: name, context: { groupId: '' } }), name).toBe('missing_group_id')
      // The account is never read from properties (B2B SaaS spec).
      expect(outcomeOf({ event: name, properties: { groupId: 'acct_1' } }), name).toBe('missing_group_id')
    }
  })

  it('drops other tracks as unsupported_event, Engage audience tracks included, and page as unsupported_call', () => {
    for (const name of [
      'Signed In',
      'Trial Started',
      'Order Completed',
      'Audience Entered',
      'Audience Exited',
    ])
      expect(
        outcomeOf({ event: name, context: { groupId: 'a' }, properties: { audience_key: 'k' } }),
        name,
      ).toBe('unsupported_event')
    expect(outcomeOf({ name: 'Home' }, 'page')).toBe('unsupported_call')
  })

  it('drops calls that need a user but carry only an anonymousId as missing_user_id', () => {
    expect(outcomeOf({ userId: undefined, anonymousId: 'anon-1' }, 'identify')).toBe('missing_user_id')
    for (const name of ['Signed Up', 'Account Added User', 'Account Removed User'])
      expect(
        outcomeOf({ userId: undefined, anonymousId: 'a', event: name, context: { groupId: 'g' } }),
        name,
      ).toBe('missing_user_id')
    // An account-level event or a group call needs no user.
    expect(
      outcomeOf({ userId: undefined, anonymousId: 'a', event: 'Account Created', context: { groupId: 'g' } }),
    ).toBe('sent')
    expect(outcomeOf({ userId: undefined, anonymousId: 'a', groupId: 'g' }, 'group')).toBe('sent')
  })

  it('drops everything as no_endpoint when no endpoint is configured', () => {
    const noEndpoint = settings({ apiKey: 'k', apiBase: 'https://x.example' })
    for (const type of ['identify', 'group', 'track'] as const) {
      const request = mapEventToCalixaRequest(
        event(type, { userId: 'u1', groupId: 'g', event: 'Signed Up' }),
        noEndpoint,
      )
      expect(request, type).toMatchObject({ status: 'dropped', reason: 'no_endpoint' })
    }
  })
})

describe('Calixa responses', () => {
  const answer = (status: number, body?: unknown) =>
    classifyCalixaResponse({ status, headers: new Headers(), body }, Date.now())

  it('follows the direct-destination status table and keeps the message', () => {
    expect(answer(200, { message: 'ok' })).toEqual({ status: 'delivered', partnerStatus: 200 })
    expect(answer(202)).toEqual({ status: 'delivered', partnerStatus: 202 })
    expect(answer(400, { message: 'bad message' })).toMatchObject({ status: 'failed', reason: 'bad message' })
    expect(answer(401)).toMatchObject({ status: 'failed', reason: 'http_401' })
    expect(answer(403, { message: 'forbidden' })).toMatchObject({ status: 'failed', reason: 'forbidden' })
    expect(answer(501, { message: 'page calls are not supported' })).toMatchObject({
      status: 'failed',
      partnerStatus: 501,
    })
    expect(answer(500)).toMatchObject({ status: 'retry', partnerStatus: 500 })
    expect(answer(503, { message: 'down' })).toMatchObject({ status: 'retry', error: 'down' })
  })
})
