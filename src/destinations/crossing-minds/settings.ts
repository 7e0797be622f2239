import * as v from 'valibot'

/** Segment catalog name: the config key, the `integrations` key and the ledger's `destination`. */
export const CROSSING_MINDS_NAME = 'Crossing Minds'

const requiredString = (message: string) => v.pipe(v.string(message), v.minLength(1, message))

/**
 * Crossing Minds settings, by their Segment catalog names (partners.md §0.2, §1.3):
 * the service account logs in with `apiKey` as `name`, `apiPassword` as `password`
 * and `apiDatabaseId` as `db_id`. `v.object` strips the router's own keys.
 */
export const CrossingMindsSettingsSchema = v.object({
  apiKey: requiredString('apiKey (the service account name) is required'),
  apiPassword: requiredString('apiPassword (the service account password) is required'),
  apiDatabaseId: requiredString('apiDatabaseId is required'),
  /** Segment event name → Crossing Minds `interaction_type`; unmapped events keep their name. */
  interactionTypes: v.optional(
    v.record(v.string(), requiredString('interactionTypes values must be non-empty strings')),
    {},
  ),
})

export type CrossingMindsSettings = v.InferOutput<typeof CrossingMindsSettingsSchema>
