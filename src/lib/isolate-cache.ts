/**
 * Per-isolate memory. A Worker isolate serves many requests and is evicted at
 * any time without notice, and each isolate has its own: so what is kept here
 * must be safe to lose and safe to differ between isolates (KV or the partner
 * is the truth). Every module-level cache and singleton the router keeps is an
 * `IsolateCache` (or a lib/memo.ts memoizer), so this list is complete:
 *
 * | what | where | key | bound |
 * |---|---|---|---|
 * | the config document, for CONFIG_CACHE_SECONDS | config/store.ts | `config:v1` | 1 |
 * | write keys as bytes, per loaded config | config/store.ts (memoizeByObject) | config object | weak |
 * | route targets per source | delivery/routing.ts (memoizeByObject) | source object | weak |
 * | circuit state per partner endpoint | delivery/circuit.ts (`partnerCircuits`) | destination + apiBase | configured endpoints |
 * | concurrency cap per destination | delivery/context.ts | destination name | 4 destinations |
 * | Crossing Minds session (JWT) per database | destinations/crossing-minds/client.ts | hash of origin, db, account | configured databases |
 * | Crossing Minds declared properties per database | destinations/crossing-minds/declared-properties.ts | same | declared properties |
 * | partner auth headers per settings object | destinations/{crisp,crowdpower}/client.ts, calixa/client.ts (memoizeByObject) | settings object | weak |
 * | converted trait keys and type names | destinations/shared/keys.ts, crisp and crossing-minds mapping (memoizeString) | string | 2,048 each |
 */

/** A Map kept for the life of an isolate; with `maxEntries`, cleared when full so hostile keys cannot grow it. */
export class IsolateCache<K, V> extends Map<K, V> {
  readonly #maxEntries: number

  constructor(maxEntries = Number.POSITIVE_INFINITY) {
    super()
    this.#maxEntries = maxEntries
  }

  override set(key: K, value: V): this {
    if (this.size >= this.#maxEntries && !this.has(key)) this.clear()
    return super.set(key, value)
  }
}
