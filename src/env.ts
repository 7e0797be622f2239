import type { QueuedDeliveryMessage } from './queue/message'

/** Bindings declared in wrangler.toml, plus the ADMIN_TOKEN secret. */
export interface Bindings {
  /** The router's configuration document (see docs/storage.md). */
  CONFIG: KVNamespace
  /** What partners know: Crisp userId → email, Crossing Minds tokens and declared properties. */
  PARTNER_STATE: KVNamespace
  /** The delivery ledger: one row per (source, messageId, destination). */
  LEDGER: D1Database
  /** Delivery messages as JSON text (src/delivery/message.ts). */
  DELIVERY_QUEUE: Queue<QueuedDeliveryMessage>
  DEAD_LETTER_QUEUE: Queue<unknown>
  /** Without it the admin API and dashboard are closed. */
  ADMIN_TOKEN?: string
  CONFIG_CACHE_SECONDS?: string
  /** Timeout of one partner request in ms (default 10000). */
  PARTNER_TIMEOUT_MS?: string
  /** First retry delay in seconds, doubled per attempt (default 10). */
  RETRY_BASE_SECONDS?: string
  /** Partner calls and partner-state KV calls one consumer invocation may make (default 9000). */
  SUBREQUEST_BUDGET?: string
}

export interface AppEnv {
  Bindings: Bindings
}
