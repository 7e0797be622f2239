/** Bindings declared in wrangler.toml, plus the ADMIN_TOKEN secret. */
export interface Bindings {
  /** The router's configuration document (see docs/storage.md). */
  CONFIG: KVNamespace
  /** What partners know: Crisp userId → email, Crossing Minds tokens and declared properties. */
  PARTNER_STATE: KVNamespace
  /** The delivery ledger's shards (src/ledger/shard.ts); typed where it is used (src/ledger/shards.ts). */
  LEDGER: DurableObjectNamespace
  /** Delivery messages, each the JSON text of a DeliveryMessage (src/queue/message.ts). */
  DELIVERY_QUEUE: Queue<string>
  /** Without it the admin API and dashboard are closed. */
  ADMIN_TOKEN?: string
  CONFIG_CACHE_SECONDS?: string
  /** Timeout of one partner request in ms (default 10000). */
  PARTNER_TIMEOUT_MS?: string
  /** First retry delay in seconds, doubled per attempt (default 10). */
  RETRY_BASE_SECONDS?: string
  /** Partner calls and partner-state KV calls one consumer invocation may make (default 9000). */
  SUBREQUEST_BUDGET?: string
  /** The dead-letter queue's name, when wrangler.toml names it other than segment-router-dead-letters. */
  DEAD_LETTER_QUEUE_NAME?: string
  /** Ledger shards (default 16; docs/capacity.md). Only ever raise it, and set LEDGER_SHARDS_PREVIOUS when you do. */
  LEDGER_SHARDS?: string
  /** The shard count before the last raise, kept for the retention period (docs/capacity.md). */
  LEDGER_SHARDS_PREVIOUS?: string
  /** Days an event's outcomes are kept after its last change (default 30). */
  LEDGER_RETENTION_DAYS?: string
  /** Days a failed or dropped event's body is kept for replay (default 7). */
  LEDGER_BODY_RETENTION_DAYS?: string
}

export interface AppEnv {
  Bindings: Bindings
}
