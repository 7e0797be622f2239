/**
 * A realistic stream of Segment events, sent the way a customer's backend sends
 * them: through the official @segment/analytics-node library pointed at the
 * router. Then a few bad requests the library would refuse to build, posted raw.
 */
import { Analytics, type Context } from '@segment/analytics-node'

const PERSONAS = {
  computation_class: 'audience',
  computation_key: 'high_value_customers',
  computation_id: 'aud_2fPq8kE1demo',
  space_id: 'spa_demo_local',
}

const ACME = 'acct_acme'

const PRODUCTS = {
  boots: {
    product_id: 'sku-trail-boot',
    sku: 'TB-42',
    name: 'Trail Boot',
    category: 'Footwear',
    price: 129.0,
  },
  socks: {
    product_id: 'sku-wool-socks',
    sku: 'WS-3P',
    name: 'Wool Socks (3-pack)',
    category: 'Apparel',
    price: 18.5,
  },
  lamp: { product_id: 'sku-head-lamp', sku: 'HL-200', name: 'Head Lamp', category: 'Gear', price: 42.0 },
}

/** The callback every analytics-node call takes (the library does not export its type). */
type Callback = (error?: unknown, context?: Context) => void

/** What the library did with each call: the messageId it gave the event, or its error. */
type Verdict = { messageId: string } | { error: unknown }

/** Sends every library call of the demo; resolves once the library has flushed them. */
async function sendThroughLibrary(analytics: Analytics): Promise<Verdict[]> {
  const verdicts: Promise<Verdict>[] = []
  const call = (send: (callback: Callback) => void) =>
    verdicts.push(
      new Promise((resolve) =>
        send((error, context) =>
          resolve(error ? { error } : { messageId: String(context?.event.messageId ?? '') }),
        ),
      ),
    )

  const people = [
    {
      userId: 'user_ada',
      traits: {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        plan: 'pro',
        phone: '+44 20 7946 0018',
        createdAt: '2024-01-15T09:30:00Z',
      },
    },
    {
      userId: 'user_grace',
      traits: {
        email: 'grace@example.com',
        name: 'Grace Hopper',
        plan: 'team',
        createdAt: '2024-03-02T14:00:00Z',
      },
    },
    { userId: 'user_linus', traits: { email: 'linus@example.com', name: 'Linus Torvalds', plan: 'free' } },
  ]
  for (const person of people) call((cb) => analytics.identify(person, cb))

  // An Engage audience, as Engage sends it: a trait on identify and an Audience Entered track.
  call((cb) =>
    analytics.identify(
      { userId: 'user_ada', traits: { high_value_customers: true }, context: { personas: PERSONAS } },
      cb,
    ),
  )
  call((cb) =>
    analytics.track(
      {
        userId: 'user_ada',
        event: 'Audience Entered',
        properties: { audience_key: 'high_value_customers', high_value_customers: true },
        context: { personas: PERSONAS },
      },
      cb,
    ),
  )

  // Ecommerce Spec v2: browse, add to cart, order.
  call((cb) =>
    analytics.page(
      {
        userId: 'user_ada',
        category: 'Shop',
        name: 'Trail Boot',
        properties: {
          url: 'https://shop.example/p/trail-boot',
          path: '/p/trail-boot',
          title: 'Trail Boot · Example Shop',
        },
      },
      cb,
    ),
  )
  call((cb) =>
    analytics.track({ userId: 'user_ada', event: 'Product Viewed', properties: PRODUCTS.boots }, cb),
  )
  call((cb) =>
    analytics.track(
      {
        userId: 'user_ada',
        event: 'Product Added',
        properties: { ...PRODUCTS.boots, quantity: 1, cart_id: 'cart_881' },
      },
      cb,
    ),
  )
  call((cb) =>
    analytics.track(
      {
        userId: 'user_ada',
        event: 'Product Added',
        properties: { ...PRODUCTS.socks, quantity: 2, cart_id: 'cart_881' },
      },
      cb,
    ),
  )
  call((cb) =>
    analytics.track(
      {
        userId: 'user_ada',
        event: 'Order Completed',
        properties: {
          order_id: 'ord_10042',
          revenue: 166.0,
          currency: 'USD',
          products: [
            { ...PRODUCTS.boots, quantity: 1 },
            { ...PRODUCTS.socks, quantity: 2 },
          ],
        },
      },
      cb,
    ),
  )
  call((cb) =>
    analytics.track({ userId: 'user_linus', event: 'Product Viewed', properties: PRODUCTS.lamp }, cb),
  )
  call((cb) =>
    analytics.track(
      {
        userId: 'user_linus',
        event: 'Product Added to Wishlist',
        properties: { ...PRODUCTS.lamp, wishlist_id: 'wl_7' },
      },
      cb,
    ),
  )

  // B2B SaaS Spec: an account and its users (the account rides in context.groupId).
  call((cb) =>
    analytics.group(
      {
        userId: 'user_grace',
        groupId: ACME,
        traits: { name: 'Acme Inc.', plan: 'enterprise', employees: 120, industry: 'Manufacturing' },
      },
      cb,
    ),
  )
  call((cb) =>
    analytics.track(
      {
        userId: 'user_grace',
        event: 'Signed Up',
        properties: { plan: 'team', source: 'invite' },
        context: { groupId: ACME },
      },
      cb,
    ),
  )
  call((cb) =>
    analytics.track(
      {
        userId: 'user_grace',
        event: 'Account Created',
        properties: { account_name: 'Acme Inc.' },
        context: { groupId: ACME },
      },
      cb,
    ),
  )
  call((cb) =>
    analytics.track(
      {
        userId: 'user_ada',
        event: 'Account Added User',
        properties: { role: 'admin' },
        context: { groupId: ACME },
      },
      cb,
    ),
  )

  // Pages, one of them from a visitor not yet known.
  call((cb) =>
    analytics.page(
      {
        userId: 'user_grace',
        name: 'Pricing',
        properties: {
          url: 'https://app.example/pricing',
          path: '/pricing',
          title: 'Pricing',
          referrer: 'https://www.google.com/',
        },
      },
      cb,
    ),
  )
  call((cb) =>
    analytics.page(
      {
        anonymousId: 'anon_5f1c2e',
        name: 'Home',
        properties: { url: 'https://app.example/', path: '/', title: 'Home' },
      },
      cb,
    ),
  )

  // A user no partner has seen: Crisp waits a few seconds for an identify, then drops it (unknown_user).
  call((cb) =>
    analytics.track({ userId: 'user_mystery', event: 'Product Viewed', properties: PRODUCTS.socks }, cb),
  )

  await analytics.closeAndFlush({ timeout: 20_000 })
  return Promise.all(verdicts)
}

export interface RawResult {
  label: string
  status: number
  body: string
}

/** The valid event in the partly invalid batch below. */
const RAW_GOOD_MESSAGE_ID = `demo-raw-${crypto.randomUUID()}`

/** Requests the library refuses to build, posted as a misbehaving client would. */
async function sendBadRequests(routerUrl: string, writeKey: string): Promise<RawResult[]> {
  const post = async (label: string, body: unknown, key = writeKey): Promise<RawResult> => {
    const response = await fetch(`${routerUrl}/v1/batch`, {
      method: 'POST',
      headers: { Authorization: `Basic ${btoa(`${key}:`)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { label, status: response.status, body: await response.text() }
  }
  return [
    await post('one good event, a track without a name, an identify without any id', {
      batch: [
        {
          type: 'track',
          messageId: RAW_GOOD_MESSAGE_ID,
          userId: 'user_linus',
          event: 'Product Viewed',
          properties: PRODUCTS.boots,
        },
        { type: 'track', userId: 'user_linus', properties: { oops: true } },
        { type: 'identify', traits: { email: 'nobody@example.com' } },
      ],
    }),
    await post('only invalid events', { batch: [{ type: 'teleport', userId: 'user_ada' }] }),
    await post(
      'a wrong write key',
      { batch: [{ type: 'track', userId: 'u', event: 'X' }] },
      'wk_not_a_real_key',
    ),
  ]
}

export interface DemoStreamResult {
  /** Calls made through the library. */
  sent: number
  /** Errors the library reported (none expected). */
  libraryErrors: unknown[]
  /** Every event the router accepted, library and raw: the ledger should get rows for each. */
  acceptedMessageIds: string[]
  raw: RawResult[]
}

export async function sendDemoStream(options: {
  routerUrl: string
  writeKey: string
}): Promise<DemoStreamResult> {
  const analytics = new Analytics({
    writeKey: options.writeKey,
    host: options.routerUrl,
    flushAt: 10,
    flushInterval: 200,
  })
  const verdicts = await sendThroughLibrary(analytics)
  const raw = await sendBadRequests(options.routerUrl, options.writeKey)
  return {
    sent: verdicts.length,
    libraryErrors: verdicts.flatMap((verdict) => ('error' in verdict ? [verdict.error] : [])),
    acceptedMessageIds: [
      ...verdicts.flatMap((verdict) => ('messageId' in verdict ? [verdict.messageId] : [])),
      RAW_GOOD_MESSAGE_ID,
    ],
    raw,
  }
}
