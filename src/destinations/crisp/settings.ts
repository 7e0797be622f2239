import * as v from 'valibot'

/** Segment catalog name: the config key, the `integrations` key and the ledger's `destination`. */
export const CRISP_NAME = 'Crisp'

/** `X-Crisp-Tier` values (crisp-api `CrispTier`); a Marketplace plugin token is the usual case. */
export const CRISP_TIERS = ['plugin', 'website', 'user'] as const

/** Segment setting names; `v.object` strips the router's own `enabled` / `apiBase` keys. */
export const CrispSettingsSchema = v.object({
  /** The token keypair as Segment stores it: `<identifier>:<key>`. */
  apiKey: v.pipe(
    v.string('apiKey is required'),
    v.regex(/^[^:\s]+:\S+$/, 'apiKey must be "<identifier>:<key>"'),
  ),
  websiteId: v.pipe(v.string('websiteId is required'), v.minLength(1, 'websiteId must not be empty')),
  tier: v.optional(v.picklist(CRISP_TIERS, 'tier must be one of plugin, website, user'), 'plugin'),
  /**
   * A track for a userId not (yet) known is re-checked once after this delay before it is
   * dropped `unknown_user`: the identify may be in a later batch or not yet visible in KV.
   * 0 drops at once.
   */
  unknownUserGraceSeconds: v.optional(
    v.pipe(
      v.number('unknownUserGraceSeconds must be a number'),
      v.integer('unknownUserGraceSeconds must be an integer'),
      v.minValue(0, 'unknownUserGraceSeconds must be at least 0'),
      v.maxValue(3600, 'unknownUserGraceSeconds must be at most 3600'),
    ),
    5,
  ),
})

export type CrispSettings = v.InferOutput<typeof CrispSettingsSchema>

/** Splits `<identifier>:<key>` at the first colon (the schema guarantees there is one). */
export function crispKeypair(settings: CrispSettings): { identifier: string; key: string } {
  const colon = settings.apiKey.indexOf(':')
  return { identifier: settings.apiKey.slice(0, colon), key: settings.apiKey.slice(colon + 1) }
}
