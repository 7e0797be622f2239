import * as v from 'valibot'

/** Segment catalog name: the config key, the `integrations` key and the ledger's `destination`. */
export const CROWDPOWER_NAME = 'CrowdPower'

/** Segment setting names; `v.object` strips the router's own `enabled` / `apiBase` keys. */
export const CrowdPowerSettingsSchema = v.object({
  /** The project's public key (`pk_…`): Segment's CrowdPower destination uses the Beacon API with it. */
  apiKey: v.pipe(v.string('apiKey is required'), v.minLength(1, 'apiKey must not be empty')),
  /**
   * Unit of the Segment `revenue` property, which becomes a charge `amount` in the smallest currency unit.
   * - `minor` (default): revenue is already in cents and sent as is (rounded to an integer). CrowdPower's
   *   own Segment docs use `revenue: 1200`, which suggests this is what their destination expected.
   * - `major`: revenue is in dollars as the Segment Spec defines it; multiplied by 100 and rounded.
   * Whether CrowdPower's destination multiplied is UNCONFIRMED (partners.md §3.4): the default follows
   * their example.
   */
  revenueUnit: v.optional(v.picklist(['minor', 'major'], 'revenueUnit must be minor or major'), 'minor'),
})

export type CrowdPowerSettings = v.InferOutput<typeof CrowdPowerSettingsSchema>
