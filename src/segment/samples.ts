/**
 * Sample events for the test console, one per call type of the Segment Spec,
 * built from its fields (shared/reference/segment-wire.md §1.1–§1.6, §4, §5):
 * reserved traits and properties only, so every destination maps them as it
 * maps real traffic. No `messageId` and no times: each test send is stamped as
 * ingest stamps a fresh event.
 */

import type { CallType } from './schema'

const USER_ID = '019mr8mf4r'
const ANONYMOUS_ID = '507f191e810c19729de860ea'
/** `context.library` is the one context key every server library sends (§1.2). */
const CONTEXT = { library: { name: 'analytics-node', version: '3.1.0' }, locale: 'en-US' }

export const SAMPLE_EVENTS = {
  /** identify with reserved traits (§1.6). */
  identify: {
    type: 'identify',
    userId: USER_ID,
    anonymousId: ANONYMOUS_ID,
    traits: {
      email: 'peter@example.com',
      firstName: 'Peter',
      lastName: 'Gibbons',
      name: 'Peter Gibbons',
      phone: '555-555-5555',
      title: 'Software Engineer',
      createdAt: '2024-01-15T09:30:00.000Z',
      address: { city: 'Austin', country: 'USA', postalCode: '78701', state: 'TX', street: '6th St' },
      company: { name: 'Initech', id: 'acct_123', industry: 'Technology', employee_count: 120, plan: 'pro' },
    },
    context: CONTEXT,
  },
  /** The Ecommerce v2 `Order Completed` with its semantic properties and product fields (§4). */
  track: {
    type: 'track',
    userId: USER_ID,
    event: 'Order Completed',
    properties: {
      checkout_id: 'fksdjfsdjfisjf9sdfjsd9f',
      order_id: '50314b8e9bcf000000000000',
      affiliation: 'Google Store',
      subtotal: 22.5,
      total: 27.5,
      revenue: 25,
      shipping: 3,
      tax: 2,
      discount: 2.5,
      coupon: 'hasbros',
      currency: 'USD',
      products: [
        {
          product_id: '507f1f77bcf86cd799439011',
          sku: '45790-32',
          name: 'Monopoly: 3rd Edition',
          price: 19,
          quantity: 1,
          category: 'Games',
        },
      ],
    },
    context: CONTEXT,
  },
  /** A B2B SaaS track, the docs' own example shape: the account in `context.groupId` (§5). */
  'track-b2b': {
    type: 'track',
    userId: USER_ID,
    event: 'Account Created',
    properties: { account_name: 'Initech' },
    context: { ...CONTEXT, groupId: 'acct_123' },
  },
  /** page with the reserved page properties analytics.js sends (§1.5). */
  page: {
    type: 'page',
    userId: USER_ID,
    anonymousId: ANONYMOUS_ID,
    name: 'Pricing',
    category: 'Docs',
    properties: {
      title: 'Pricing',
      path: '/pricing',
      url: 'https://example.com/pricing',
      referrer: 'https://example.com/',
      search: '',
    },
    context: CONTEXT,
  },
  /** screen: `name` is its one reserved property (§1.5). */
  screen: {
    type: 'screen',
    userId: USER_ID,
    name: 'Home',
    properties: { name: 'Home' },
    context: CONTEXT,
  },
  /** group with reserved group traits (§1.6). */
  group: {
    type: 'group',
    userId: USER_ID,
    groupId: 'acct_123',
    traits: {
      name: 'Initech',
      industry: 'Technology',
      employees: '120',
      plan: 'pro',
      website: 'https://initech.example',
      createdAt: '2023-06-01T00:00:00.000Z',
    },
    context: CONTEXT,
  },
  /** alias: `previousId` and `userId`, both required on the wire (§1.5). */
  alias: {
    type: 'alias',
    previousId: ANONYMOUS_ID,
    userId: USER_ID,
    context: CONTEXT,
  },
} as const satisfies Record<string, { type: CallType } & Record<string, unknown>>

export type SampleName = keyof typeof SAMPLE_EVENTS

export const SAMPLE_NAMES = Object.keys(SAMPLE_EVENTS) as SampleName[]

/** A fresh copy of a sample (normalising stamps the event in place). */
export function sampleEvent(name: SampleName): Record<string, unknown> {
  return structuredClone(SAMPLE_EVENTS[name]) as Record<string, unknown>
}
