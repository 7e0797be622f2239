/**
 * The schema of one ledger shard (a Durable Object's own SQLite database),
 * applied by the shard itself on first use: there is no migration step to run.
 * Each entry runs once, in order; the number of entries applied is kept in
 * the `schema_version` table (Durable Objects do not allow `PRAGMA user_version`). Append to change the schema, never edit an entry.
 * docs/storage.md describes every table and column. Since the first entry, `events.body` holds
 * deflated BLOBs and `events.destinations` JSONB (the columns' text affinity keeps BLOBs as
 * they are); rows written before hold text, which reads the same.
 */
export const SHARD_MIGRATIONS: readonly string[] = [
  `
  ${eventsTable('events')};
  CREATE INDEX events_by_time ON events (updated_at);
  CREATE INDEX events_with_body ON events (body_kept_at) WHERE body_kept_at IS NOT NULL;

  -- Counts of pairs by the 5-minute bucket of their last change, kept in the same
  -- transaction as the pairs: stats and charts read these, never the events.
  CREATE TABLE rollups (
    bucket INTEGER NOT NULL,
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (bucket, source, destination, status, reason)
  ) WITHOUT ROWID;

  CREATE VIEW deliveries AS ${deliveriesOf('events', false)};
  `,
  // Unsettled events by age, for retention's orphan sweep (src/ledger/shard.ts `failOrphans`):
  // it costs a row write only when an event starts or stops retrying.
  'CREATE INDEX events_unsettled ON events (updated_at) WHERE unsettled = 1;',
  // One row per bucket, its counts as JSONB keyed by '["source","destination","status","reason"]':
  // a write then costs a row per bucket it touches, not one per combination.
  `
  CREATE TABLE rollup_buckets (bucket INTEGER PRIMARY KEY, counts TEXT NOT NULL);
  INSERT INTO rollup_buckets (bucket, counts)
    SELECT bucket, jsonb_group_object(json_array(source, destination, status, reason), count)
    FROM rollups WHERE count != 0 GROUP BY bucket;
  DROP TABLE rollups;
  ALTER TABLE rollup_buckets RENAME TO rollups;
  `,
  // The deliveries list walks `changes` (one row per write call, listing the events it changed)
  // instead of a time index on `events`, which cost a second row written per event.
  // Each event keeps the position of its latest change; a change row's other keys are stale.
  // Existing events get one change row per distinct updated_at.
  `
  CREATE TABLE changes (recorded_us INTEGER PRIMARY KEY, keys TEXT NOT NULL);
  ALTER TABLE events ADD COLUMN recorded_us INTEGER NOT NULL DEFAULT 0;
  INSERT INTO changes (recorded_us, keys)
    SELECT updated_at * 1000, jsonb_group_array(jsonb_array(source, message_id)) FROM events GROUP BY updated_at;
  UPDATE events SET recorded_us = updated_at * 1000;
  DROP INDEX events_by_time;
  DROP VIEW deliveries;
  CREATE VIEW deliveries AS ${deliveriesOf('events')};
  `,
  // Events and changes by period of their latest change (src/ledger/partitions.ts), so
  // retention drops a whole period's tables (no rows written) instead of deleting each event (a
  // row each). The tables so far become the partition with suffix '', up to their latest change.
  `
  CREATE TABLE partitions (suffix TEXT PRIMARY KEY, first_us INTEGER NOT NULL, end_us INTEGER NOT NULL);
  INSERT INTO partitions (suffix, first_us, end_us)
    VALUES ('', 0, coalesce((SELECT max(recorded_us) FROM changes), 0) + 1);
  DROP VIEW deliveries;
  `,
]

/** Width of one rollup bucket: stats and chart windows are counted in whole buckets. */
export const ROLLUP_BUCKET_MS = 5 * 60 * 1000

/**
 * One row per (event, destination) of the events table `table`, the shape every reader gets
 * (`LedgerRow`); with `recordedUs` false, as the first schema had it.
 */
export function deliveriesOf(table: string, recordedUs = true): string {
  return `SELECT
    e.source,
    e.message_id,
    d.key AS destination,
    coalesce(d.value ->> 'o', e.ingest_id) AS ingest_id,
    e.event_type,
    e.event_name,
    e.user_id,
    d.value ->> 's' AS status,
    d.value ->> 'r' AS reason,
    coalesce(d.value ->> 'a', 1) AS attempts,
    d.value ->> 'n' AS next_attempt_at,
    d.value ->> 'e' AS last_error,
    coalesce(d.value ->> 'h', CASE d.value ->> 's' WHEN 'delivered' THEN 200 END) AS partner_status,
    d.value ->> 'm' AS response_summary,
    e.duplicates,
    coalesce(d.value ->> 'p', 0) AS replays,
    e.created_at,
    coalesce(d.value ->> 'w', d.value ->> 'u', e.updated_at) AS window_started_at,
    coalesce(d.value ->> 'u', e.updated_at) AS updated_at,
    e.updated_at AS event_updated_at${recordedUs ? ',\n    e.recorded_us' : ''}
  FROM ${table} AS e, json_each(e.destinations) AS d`
}

/**
 * An events table: one row per (source, messageId). The first schema created `events`
 * without `recorded_us` (entry 4 added it, last, where partitions have it too).
 */
export function eventsTable(name: string, recordedUs = false): string {
  return `CREATE TABLE ${name} (
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    -- The accepted request that first routed the event; a pair a replay took names its own.
    ingest_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_name TEXT,
    user_id TEXT,
    -- JSON: destination name -> its stored pair state (src/ledger/stored.ts).
    destinations TEXT NOT NULL,
    -- The event as queued, kept only when a destination failed or dropped it (replay).
    body TEXT,
    body_kept_at INTEGER,
    -- Times a client re-sent this messageId (not delivered again).
    duplicates INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    -- The latest change of any of its pairs.
    updated_at INTEGER NOT NULL,
    -- 1 while some pair is retrying: retention never purges an unsettled event.
    unsettled INTEGER NOT NULL DEFAULT 0,
    ${recordedUs ? 'recorded_us INTEGER NOT NULL DEFAULT 0,' : ''}
    PRIMARY KEY (source, message_id)
  ) WITHOUT ROWID`
}

/**
 * The tables of one partition (schema entry 5): the events whose latest change falls in its
 * period, and that period's `changes`. The partition with suffix '' is the first tables.
 */
export function partitionTables(suffix: string): string {
  return `
  ${eventsTable(`events${suffix}`, true)};
  CREATE INDEX events${suffix}_with_body ON events${suffix} (body_kept_at) WHERE body_kept_at IS NOT NULL;
  CREATE INDEX events${suffix}_unsettled ON events${suffix} (updated_at) WHERE unsettled = 1;
  CREATE TABLE changes${suffix} (recorded_us INTEGER PRIMARY KEY, keys TEXT NOT NULL);
  `
}
