/**
 * The Worker's environment. `Env` (bindings and vars from wrangler.toml, the
 * ADMIN_TOKEN secret from .dev.vars.example) is generated into
 * worker-configuration.d.ts by `npm run types`; `npm test` fails when that file
 * no longer matches wrangler.toml. This file adds only what wrangler cannot see,
 * and imports nothing from the project.
 */

/**
 * Knobs read when set (as vars or secrets) but declared nowhere by default;
 * each has a default in the code that reads it.
 */
export interface OptionalSettings {
  /** Timeout of one partner request in ms (default 10000). */
  PARTNER_TIMEOUT_MS?: string
  /** First retry delay in seconds, doubled per attempt (default 10). */
  RETRY_BASE_SECONDS?: string
  /** The dead-letter queue's name, when wrangler.toml names it other than segment-router-dead-letters. */
  DEAD_LETTER_QUEUE_NAME?: string
  /** The ledger's shard count before the last raise, kept for the retention period (docs/capacity.md). */
  LEDGER_SHARDS_PREVIOUS?: string
  /** Share of a shard's 10 GB at which stats and the dashboard warn (default 0.7). */
  LEDGER_WARNING_SHARE?: string
}

/**
 * What handlers receive. ADMIN_TOKEN is a secret, so a deployment may lack it
 * (then the admin API and dashboard are closed): optional here, whatever the
 * generated type says. The queues are typed `Queue` (of unknown) by wrangler;
 * src/queue/ narrows them to the message bodies it sends and reads.
 */
export type Bindings = Omit<Env, 'ADMIN_TOKEN'> & OptionalSettings & { ADMIN_TOKEN?: string }

/** Hono's environment for the app and its routes. */
export interface AppEnv {
  Bindings: Bindings
}
