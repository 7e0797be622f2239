-- One D1 row per event instead of per (event, destination): each destination's state
-- lives in a JSON object on the event's row, so routing an event to four partners
-- costs one row written, not eight. `deliveries` stays the per-destination view that
-- every reader uses. See docs/storage.md.
DROP TABLE IF EXISTS deliveries;
DROP TABLE IF EXISTS undelivered_events;

CREATE TABLE events (
  source TEXT NOT NULL,
  message_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_name TEXT,
  user_id TEXT,
  -- Destination name → its delivery state (docs/storage.md, "destination state").
  destinations TEXT NOT NULL,
  -- The event as queued; kept only when a destination failed or dropped it, for replay.
  body TEXT,
  -- Times a client re-sent this messageId (not delivered again).
  duplicates INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (source, message_id)
) WITHOUT ROWID;

CREATE VIEW deliveries AS
SELECT
  e.source,
  e.message_id,
  d.key AS destination,
  d.value ->> 'ingestId' AS ingest_id,
  e.event_type,
  e.event_name,
  e.user_id,
  d.value ->> 'status' AS status,
  d.value ->> 'reason' AS reason,
  d.value ->> 'attempts' AS attempts,
  d.value ->> 'nextAttemptAt' AS next_attempt_at,
  d.value ->> 'lastError' AS last_error,
  d.value ->> 'partnerStatus' AS partner_status,
  d.value ->> 'summary' AS response_summary,
  e.duplicates,
  d.value ->> 'replays' AS replays,
  e.created_at,
  d.value ->> 'windowStartedAt' AS window_started_at,
  d.value ->> 'updatedAt' AS updated_at
FROM events AS e, json_each(e.destinations) AS d;
