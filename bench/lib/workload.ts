/**
 * The events the bench sends: a deterministic mix of what a B2B SaaS source
 * sends (identify, ecommerce and product tracks, page, group), each about as
 * large as analytics.js makes them (context with library, page, userAgent, ip).
 */
const NAMES = ['Order Completed', 'Product Viewed', 'Signed Up', 'Feature Used', 'Trial Started']
const PLANS = ['free', 'team', 'business', 'enterprise']

function context(n: number) {
  return {
    library: { name: 'analytics.js', version: '5.2.0' },
    page: { path: `/app/p/${n % 50}`, url: `https://app.example.com/app/p/${n % 50}`, title: 'App' },
    userAgent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15',
    ip: `10.0.${n % 250}.${(n * 7) % 250}`,
    locale: 'en-US',
  }
}

/** Users who come back: their identify repeats the same traits, as analytics.js re-sends them. */
const RETURNING_USERS = 40
/** One block of five in NEW_USER_EVERY belongs to a user seen for the first time. */
export const NEW_USER_EVERY = 20

/**
 * Event number `n` of run `run`; its messageId is unique to both. Events come in
 * blocks of five per user that open with the user's identify, as a user signs in
 * and then acts: partners that drop unknown users see them known. Most users
 * return from run to run (partner state already holds them); one block in
 * NEW_USER_EVERY is a user new to this run.
 */
export function event(run: string, n: number, sentAt: string): Record<string, unknown> {
  const block = Math.floor(n / 5)
  const isNew = block % NEW_USER_EVERY === NEW_USER_EVERY - 1
  const user = block % RETURNING_USERS
  const userId = isNew ? `${run}-new-${block}` : `user-${user}`
  const base = {
    messageId: `${run}-${n}`,
    anonymousId: `anon-${n % 997}`,
    timestamp: new Date(Date.parse(sentAt) - 1500).toISOString(),
    context: context(n),
  }
  switch (n % 5) {
    case 0:
      return {
        ...base,
        type: 'identify',
        userId,
        traits: {
          email: `${userId}@example.com`,
          name: `User ${user}`,
          plan: PLANS[user % 4],
          company: 'Acme',
        },
      }
    case 1:
      return {
        ...base,
        type: 'track',
        userId,
        event: 'Order Completed',
        properties: {
          order_id: `o-${n}`,
          revenue: 42.5,
          currency: 'USD',
          products: [{ product_id: `p-${n % 30}`, sku: `SKU-${n % 30}`, price: 21.25, quantity: 2 }],
        },
      }
    case 2:
      return {
        ...base,
        type: 'track',
        userId,
        event: NAMES[(n >> 1) % NAMES.length],
        properties: { product_id: `p-${n % 30}`, plan: PLANS[n % 4], seats: n % 20 },
      }
    case 3:
      return {
        ...base,
        type: 'page',
        userId,
        name: 'Pricing',
        properties: { path: '/pricing', referrer: '' },
      }
    default:
      return {
        ...base,
        type: 'group',
        userId,
        groupId: `org-${n % 40}`,
        traits: { name: 'Acme', plan: 'team' },
      }
  }
}

/** `/v1/batch` bodies of `size` events each, numbered from `from`. */
export function batches(run: string, from: number, count: number, size: number): string[] {
  const sentAt = new Date().toISOString()
  return Array.from({ length: count }, (_, b) =>
    JSON.stringify({
      batch: Array.from({ length: size }, (_, i) => event(run, from + b * size + i, sentAt)),
      sentAt,
    }),
  )
}

/** Drop-only events for pre-filling the ledger: every destination switched off by `integrations`. */
export function dropBatch(run: string, from: number, size: number): string {
  const batch = Array.from({ length: size }, (_, i) => ({
    type: 'track',
    event: 'Seeded',
    userId: `seed-${(from + i) % 5000}`,
    messageId: `${run}-${from + i}`,
    integrations: { All: false },
  }))
  return JSON.stringify({ batch })
}
