import * as v from 'valibot'

/** Segment catalog name: the config key, the `integrations` key and the ledger's `destination`. */
export const CALIXA_NAME = 'Calixa'

/**
 * Calixa settings. `apiKey` is the catalog's only setting (partners.md §0.2);
 * `endpoint` is the webhook URL Calixa registered with Segment, which was never
 * published (§4.2 UNCONFIRMED: assume it is configured per tenant), so without it
 * nothing can be sent.
 *
 * `looseObject` on purpose: in Segment's direct-destination protocol every other
 * setting travels to the partner in `X-Segment-Settings` (§0.3), so settings this
 * schema does not know are kept, not stripped (the router's `enabled`/`apiBase` are
 * removed when the header is built).
 */
export const CalixaSettingsSchema = v.looseObject({
  apiKey: v.pipe(v.string('apiKey is required'), v.minLength(1, 'apiKey is required')),
  endpoint: v.optional(
    v.pipe(
      v.string('endpoint must be a URL'),
      v.url('endpoint must be a URL'),
      v.regex(/^https?:\/\//, 'endpoint must be an http(s) URL'),
    ),
  ),
})

export type CalixaSettings = v.InferOutput<typeof CalixaSettingsSchema>
