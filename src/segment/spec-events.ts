/**
 * Event names of the Segment Spec that destinations select on, verbatim
 * (segment-docs `src/connections/spec/ecommerce/v2.md` and `b2b-saas.md`).
 */

/** Ecommerce Spec v2, by the groups the spec (and partners' docs) name. */
export const ECOMMERCE_V2_EVENT_GROUPS = {
  browsing: ['Products Searched', 'Product List Viewed', 'Product List Filtered'],
  promotions: ['Promotion Viewed', 'Promotion Clicked'],
  coreOrdering: [
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
  ],
  coupons: ['Coupon Entered', 'Coupon Applied', 'Coupon Denied', 'Coupon Removed'],
  wishlisting: [
    'Product Added to Wishlist',
    'Product Removed from Wishlist',
    'Wishlist Product Added to Cart',
  ],
  sharing: ['Product Shared', 'Cart Shared'],
  reviewing: ['Product Reviewed'],
} as const

export type EcommerceV2Group = keyof typeof ECOMMERCE_V2_EVENT_GROUPS
export type EcommerceV2Event = (typeof ECOMMERCE_V2_EVENT_GROUPS)[EcommerceV2Group][number]

/** Every event name of the chosen Ecommerce v2 groups, for membership tests. */
export function ecommerceEventsOf(groups: readonly EcommerceV2Group[]): ReadonlySet<string> {
  return new Set(groups.flatMap((group) => ECOMMERCE_V2_EVENT_GROUPS[group]))
}

/** B2B SaaS Spec track events. The account is carried in `context.groupId`, not in a property. */
export const B2B_SAAS_EVENTS = [
  'Account Created',
  'Account Deleted',
  'Signed Up',
  'Signed In',
  'Signed Out',
  'Invite Sent',
  'Account Added User',
  'Account Removed User',
  'Trial Started',
  'Trial Ended',
] as const

export type B2bSaasEvent = (typeof B2B_SAAS_EVENTS)[number]

/** Engage's default audience track names (renamable per destination in Engage). */
export const ENGAGE_AUDIENCE_EVENTS = ['Audience Entered', 'Audience Exited'] as const
