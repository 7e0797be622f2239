/**
 * The plain-V8 reference for target 2: what a straightforward handler does for one
 * event, with no framework: JSON.parse, a valibot check of the common Segment
 * fields, and the four partner bodies built the obvious way (same partners, same
 * calls, the same shape of body as the router sends), serialised.
 */
import * as v from 'valibot'

const Common = v.looseObject({
  type: v.picklist(['identify', 'track', 'page', 'screen', 'group', 'alias']),
  messageId: v.optional(v.string()),
  userId: v.optional(v.nullable(v.string())),
  anonymousId: v.optional(v.nullable(v.string())),
  timestamp: v.optional(v.string()),
  context: v.optional(v.record(v.string(), v.unknown())),
  properties: v.optional(v.record(v.string(), v.unknown())),
  traits: v.optional(v.record(v.string(), v.unknown())),
})

type Json = Record<string, unknown>

const PROFILE_KEYS = new Set([
  'email',
  'name',
  'firstName',
  'first_name',
  'lastName',
  'last_name',
  'phone',
  'avatar',
])
const ECOMMERCE = new Set([
  'Products Searched',
  'Product List Viewed',
  'Product List Filtered',
  'Product Clicked',
  'Product Viewed',
  'Product Added',
  'Product Removed',
  'Cart Viewed',
  'Checkout Started',
  'Checkout Step Viewed',
  'Checkout Step Completed',
  'Payment Info Entered',
  'Order Completed',
  'Order Updated',
  'Order Refunded',
  'Order Cancelled',
  'Product Added to Wishlist',
  'Product Removed from Wishlist',
  'Wishlist Product Added to Cart',
  'Product Shared',
  'Cart Shared',
  'Product Reviewed',
])
const CALIXA = new Set([
  'Signed Up',
  'Account Created',
  'Account Deleted',
  'Account Added User',
  'Account Removed User',
])

function flatten(input: Json, separator: string, prefix = '', out: Json = {}): Json {
  for (const key in input) {
    const value = input[key]
    const name = prefix ? prefix + separator + key.replace(/\W+/g, '_') : key.replace(/\W+/g, '_')
    if (value === null || value === undefined) continue
    if (Array.isArray(value)) out[name] = value.join(', ')
    else if (typeof value === 'object') flatten(value as Json, separator, name, out)
    else out[name] = value
  }
  return out
}

function snake(input: Json): Json {
  const out: Json = {}
  for (const key in input) {
    const value = input[key]
    if (value === null || value === undefined) continue
    const name = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()
    if (name.endsWith('_at') && typeof value === 'string') out[name] = Math.floor(Date.parse(value) / 1000)
    else
      out[name] =
        value !== null && typeof value === 'object' && !Array.isArray(value) ? snake(value as Json) : value
  }
  return out
}

/** The serialised partner bodies for one event's JSON text (empty when the event is invalid). */
export function naiveBodies(text: string, emails: Map<string, string>, now: string): string[] {
  const event = JSON.parse(text) as Json
  const checked = v.safeParse(Common, event)
  if (!checked.success) return []
  const { type, userId } = checked.output
  const traits = (event.traits ?? {}) as Json
  const properties = (event.properties ?? {}) as Json
  const context = (event.context ?? {}) as Json
  const timestamp = Math.floor(Date.parse((event.timestamp as string) ?? now) / 1000)
  const bodies: string[] = []
  const name = event.event as string

  // Crisp: profile + people data on identify; a people event on track.
  const email =
    (typeof traits.email === 'string' ? traits.email.toLowerCase() : undefined) ??
    (userId ? emails.get(userId) : undefined) ??
    (type === 'track' && !userId
      ? ((context.traits as Json | undefined)?.email as string | undefined)
      : undefined)
  if (type === 'identify' && email) {
    const nickname = traits.name ?? [traits.firstName, traits.lastName].filter(Boolean).join(' ')
    bodies.push(JSON.stringify({ email, person: { nickname } }))
    const data: Json = { user_id: userId }
    for (const key in traits) if (!PROFILE_KEYS.has(key)) data[key] = traits[key]
    bodies.push(JSON.stringify({ data: flatten(data, '_') }))
  } else if (type === 'track' && email) {
    bodies.push(JSON.stringify({ text: name, data: flatten(properties, '_') }))
  }

  // CrowdPower: customer on identify, charge or event on track, event on page.
  const user = userId ? { user_id: userId } : email ? { email } : undefined
  if (user && type === 'identify') {
    const custom: Json = {}
    for (const key in traits) if (!PROFILE_KEYS.has(key) && key !== 'createdAt') custom[key] = traits[key]
    bodies.push(
      JSON.stringify({
        ...user,
        email: traits.email,
        first_name: traits.firstName,
        last_name: traits.lastName,
        signed_up_at: traits.createdAt
          ? Math.floor(Date.parse(traits.createdAt as string) / 1000)
          : undefined,
        custom_attributes: snake(custom),
      }),
    )
  } else if (user && type === 'track' && properties.revenue !== undefined) {
    bodies.push(
      JSON.stringify({ ...user, amount: Math.round(Number(properties.revenue)), created_at: timestamp }),
    )
  } else if (user && (type === 'track' || type === 'page')) {
    const props = type === 'page' ? { name: event.name, category: event.category, ...properties } : properties
    bodies.push(
      JSON.stringify({
        ...user,
        action: type === 'page' ? 'Page Viewed' : name,
        properties: snake(props),
        created_at: timestamp,
      }),
    )
  }

  // Crossing Minds: user properties on identify, interactions on ecommerce tracks.
  if (type === 'identify' && userId) {
    bodies.push(JSON.stringify({ user: flatten(traits, '.'), create_if_missing: true }))
  } else if (type === 'track' && ECOMMERCE.has(name)) {
    const products = (properties.products as Json[] | undefined) ?? [properties]
    const interactions = products
      .filter((product) => product.product_id !== undefined)
      .map((product) => ({ item_id: btoa(String(product.product_id)), interaction_type: name, timestamp }))
    if (interactions.length > 0) bodies.push(JSON.stringify({ interactions }))
  }

  // Calixa: the raw event for identifies, groups and the B2B tracks it takes.
  if ((type === 'identify' && userId) || type === 'group' || (type === 'track' && CALIXA.has(name))) {
    bodies.push(JSON.stringify(event))
  }
  return bodies
}
