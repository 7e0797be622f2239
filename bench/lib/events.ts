/**
 * Realistic Segment traffic for every measurement, deterministic (seeded) so two
 * runs send the same bytes. Shapes follow what analytics.js / analytics-node and
 * Engage emit: a `context` with library, page, userAgent, ip and locale, a
 * client `messageId` and `timestamp`, Spec event names and properties.
 */

export type MixKind = 'identify' | 'ecommerce' | 'b2b' | 'page' | 'group' | 'engage-identify' | 'engage-track'

export type RawEvent = Record<string, unknown> & { type: string; messageId: string }

/** Share of each kind in the mixed stream (sums to 1). */
export const MIX: Readonly<Record<MixKind, number>> = {
  identify: 0.14,
  ecommerce: 0.34,
  b2b: 0.1,
  page: 0.26,
  group: 0.06,
  'engage-identify': 0.05,
  'engage-track': 0.05,
}

/** mulberry32: small, fast, good enough to pick fixtures. */
export function rng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Edsger']
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie']
const CITIES = [
  ['Paris', 'FR'],
  ['Berlin', 'DE'],
  ['Austin', 'US'],
  ['Lisbon', 'PT'],
  ['Toronto', 'CA'],
] as const
const PLANS = ['free', 'starter', 'pro', 'enterprise']
const INDUSTRIES = ['Software', 'Retail', 'Media', 'Finance', 'Health']
const CATEGORIES = ['Apparel', 'Shoes', 'Accessories', 'Outdoor', 'Home']
const BRANDS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli']
const PAGES = [
  ['Home', 'Marketing', '/'],
  ['Pricing', 'Marketing', '/pricing'],
  ['Docs', 'Docs', '/docs/getting-started'],
  ['Product', 'Shop', '/products/sku'],
  ['Checkout', 'Shop', '/checkout'],
  ['Blog', 'Content', '/blog/edge-routing'],
] as const
const ECOMMERCE = [
  'Product Viewed',
  'Product Viewed',
  'Product Clicked',
  'Product Added',
  'Product List Viewed',
  'Products Searched',
  'Cart Viewed',
  'Checkout Started',
  'Order Completed',
  'Product Added to Wishlist',
  'Product Reviewed',
] as const
const B2B = [
  'Signed Up',
  'Account Created',
  'Account Added User',
  'Signed In',
  'Invite Sent',
  'Trial Started',
]
const AUDIENCES = ['high_value_users', 'cart_abandoners', 'trial_expiring', 'power_users']
const USER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

export interface User {
  userId: string
  anonymousId: string
  email: string
  firstName: string
  lastName: string
  plan: string
  city: (typeof CITIES)[number]
  groupId: string
  createdAt: string
  logins: number
}

export function makeUsers(count: number, seed = 7): User[] {
  const random = rng(seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  return Array.from({ length: count }, (_, index) => {
    const firstName = pick(FIRST)
    const lastName = pick(LAST)
    return {
      userId: `usr_${(100_000 + index).toString(36)}${index}`,
      anonymousId: `anon-${index.toString(16).padStart(6, '0')}-4f1c-9a2e-${(index * 7919).toString(16)}`,
      email: `${firstName.toLowerCase()}.${lastName.toLowerCase()}.${index}@example.com`,
      firstName,
      lastName,
      plan: pick(PLANS),
      city: pick(CITIES),
      groupId: `acct_${Math.floor(index / 8)}`,
      createdAt: new Date(Date.UTC(2025, index % 12, 1 + (index % 27), 9, index % 60)).toISOString(),
      logins: 1 + (index % 40),
    }
  })
}

/** The context Engage puts on its identifies and tracks for an audience. */
function engageContext(audience: string): Record<string, unknown> {
  return {
    library: { name: 'unknown', version: 'unknown' },
    personas: {
      computation_class: 'audience',
      computation_id: `aud_${audience}`,
      computation_key: audience,
      namespace: 'spa_acme',
      space_id: 'spa_acme',
    },
  }
}

/** Builds events of each kind; `at` is the event time (ms), `sentAt` added by the batch. */
export class EventFactory {
  readonly #random: () => number
  readonly #runId: string
  #counter = 0

  constructor(seed: number, runId: string) {
    this.#random = rng(seed)
    this.#runId = runId
  }

  #pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#random() * list.length)] as T
  }

  #id(): string {
    this.#counter += 1
    return `${this.#runId}-${this.#counter.toString(36).padStart(6, '0')}`
  }

  #context(page = this.#pick(PAGES)): Record<string, unknown> {
    return {
      library: { name: 'analytics.js', version: 'next-1.72.0' },
      page: { path: page[2], title: `${page[0]} | Acme`, url: `https://www.acme.example${page[2]}` },
      userAgent: USER_AGENT,
      locale: 'en-US',
      ...(this.#random() < 0.1 && { campaign: { source: 'newsletter', medium: 'email', name: 'spring' } }),
    }
  }

  #base(
    user: User | undefined,
    at: number,
    anonymous = false,
  ): { messageId: string; timestamp: string; anonymousId: string; userId?: string } {
    return {
      messageId: this.#id(),
      timestamp: new Date(at).toISOString(),
      anonymousId: user?.anonymousId ?? `anon-${Math.floor(this.#random() * 1e9).toString(16)}`,
      ...(user && !anonymous && { userId: user.userId }),
    }
  }

  identify(user: User, at: number, options: { loginsBump?: number } = {}): RawEvent {
    const base = this.#base(user, at)
    return {
      ...base,
      type: 'identify',
      traits: {
        email: user.email,
        firstName: user.firstName,
        lastName: user.lastName,
        plan: user.plan,
        createdAt: user.createdAt,
        logins: user.logins + (options.loginsBump ?? 0),
        company: { id: user.groupId, name: `${user.lastName} Labs` },
        address: { city: user.city[0], country: user.city[1] },
        tags: ['beta', user.plan],
      },
      context: this.#context(),
    } as RawEvent
  }

  #product(index: number): Record<string, unknown> {
    return {
      product_id: `sku-${1000 + index}`,
      name: `${this.#pick(BRANDS)} ${this.#pick(CATEGORIES)} item ${index}`,
      category: this.#pick(CATEGORIES),
      brand: this.#pick(BRANDS),
      price: Math.round(this.#random() * 20000) / 100,
      quantity: 1 + Math.floor(this.#random() * 3),
    }
  }

  ecommerce(user: User, at: number): RawEvent {
    const event = this.#pick(ECOMMERCE)
    const anonymous = this.#random() < 0.1
    const base = this.#base(user, at, anonymous)
    const product = this.#product(Math.floor(this.#random() * 500))
    let properties: Record<string, unknown>
    if (event === 'Order Completed') {
      const products = [0, 1, 2].map(() => this.#product(Math.floor(this.#random() * 500)))
      properties = {
        order_id: `ord_${base.messageId}`,
        total: 123.45,
        revenue: 109.97,
        shipping: 9.99,
        tax: 13.49,
        discount: 10,
        coupon: 'SPRING10',
        currency: 'USD',
        products,
      }
    } else if (event === 'Products Searched') properties = { query: 'running shoes' }
    else if (event === 'Product List Viewed' || event === 'Cart Viewed' || event === 'Checkout Started')
      properties = { list_id: 'featured', category: product.category, products: [product] }
    else
      properties = {
        ...product,
        currency: 'USD',
        position: 1 + Math.floor(this.#random() * 12),
        url: `https://www.acme.example/products/${product.product_id}`,
      }
    return {
      ...base,
      type: 'track',
      event,
      properties,
      context: this.#context(PAGES[3]),
    } as RawEvent
  }

  b2b(user: User, at: number): RawEvent {
    const event = this.#pick(B2B)
    const base = this.#base(user, at)
    const context = { ...this.#context(), groupId: user.groupId }
    return {
      ...base,
      type: 'track',
      event,
      properties: { plan: user.plan, source: 'web', trial_days: 14 },
      context,
    } as RawEvent
  }

  page(user: User | undefined, at: number): RawEvent {
    const page = this.#pick(PAGES)
    const anonymous = !user || this.#random() < 0.3
    const base = this.#base(user, at, anonymous)
    return {
      ...base,
      type: 'page',
      name: page[0],
      category: page[1],
      properties: {
        path: page[2],
        referrer: 'https://www.google.com/',
        title: `${page[0]} | Acme`,
        url: `https://www.acme.example${page[2]}`,
      },
      context: this.#context(page),
    } as RawEvent
  }

  group(user: User, at: number): RawEvent {
    const base = this.#base(user, at)
    return {
      ...base,
      type: 'group',
      groupId: user.groupId,
      traits: {
        name: `${user.lastName} Labs`,
        industry: this.#pick(INDUSTRIES),
        employees: 10 + Math.floor(this.#random() * 500),
        plan: user.plan,
        website: `https://${user.lastName.toLowerCase()}.example`,
        createdAt: user.createdAt,
      },
      context: this.#context(),
    } as RawEvent
  }

  /** An Engage computed-trait / audience identify, as Engage sends it to a destination. */
  engageIdentify(user: User, at: number): RawEvent {
    const audience = this.#pick(AUDIENCES)
    return {
      ...this.#base(user, at),
      type: 'identify',
      traits: { [audience]: this.#random() < 0.7, email: user.email },
      context: engageContext(audience),
      integrations: { All: false, Crisp: true, 'Crossing Minds': true, CrowdPower: true, Calixa: true },
    } as RawEvent
  }

  /** An Engage audience track (`Audience Entered` / `Exited`). */
  engageTrack(user: User, at: number): RawEvent {
    const audience = this.#pick(AUDIENCES)
    return {
      ...this.#base(user, at),
      type: 'track',
      event: this.#random() < 0.75 ? 'Audience Entered' : 'Audience Exited',
      properties: { audience_key: audience, [audience]: true },
      context: { ...engageContext(audience), traits: { email: user.email } },
    } as RawEvent
  }

  ofKind(kind: MixKind, user: User, at: number): RawEvent {
    switch (kind) {
      case 'identify':
        return this.identify(user, at)
      case 'ecommerce':
        return this.ecommerce(user, at)
      case 'b2b':
        return this.b2b(user, at)
      case 'page':
        return this.page(user, at)
      case 'group':
        return this.group(user, at)
      case 'engage-identify':
        return this.engageIdentify(user, at)
      case 'engage-track':
        return this.engageTrack(user, at)
    }
  }

  pickKind(): MixKind {
    let roll = this.#random()
    for (const [kind, share] of Object.entries(MIX) as [MixKind, number][]) {
      roll -= share
      if (roll < 0) return kind
    }
    return 'page'
  }

  pickUser(users: readonly User[]): User {
    return this.#pick(users)
  }
}

/**
 * A mixed stream of `count` events over `users`. Every user's first event is an
 * identify with an email, as a sign-up is, so partners that key people by email
 * (Crisp) know each user before their first track.
 */
export function mixedStream(count: number, users: readonly User[], seed: number, runId: string): RawEvent[] {
  const factory = new EventFactory(seed, runId)
  const known = new Set<string>()
  const start = Date.now() - 60_000
  const events: RawEvent[] = []
  for (let index = 0; index < count; index += 1) {
    const user = factory.pickUser(users)
    const at = start + index * 5
    if (!known.has(user.userId)) {
      known.add(user.userId)
      events.push(factory.identify(user, at))
      continue
    }
    events.push(factory.ofKind(factory.pickKind(), user, at))
  }
  return events
}

/** The Tracking API body analytics.js / analytics-node send: `{ batch, sentAt }`. */
export function batchBody(events: readonly RawEvent[], sentAt = new Date().toISOString()): string {
  return JSON.stringify({ batch: events, sentAt })
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = []
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size))
  return chunks
}
