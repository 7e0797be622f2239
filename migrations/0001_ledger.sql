-- The delivery ledger: one row per (source, messageId, destination).
-- It is also the dedupe set and the replay index. See docs/storage.md.
CREATE TABLE deliveries (
  source TEXT NOT NULL,
  message_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  -- The accepted request (or replay) that owns this row: a queue retry carries the
  -- same id, a client re-sending the messageId carries another and is a duplicate.
  ingest_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_name TEXT,
  user_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dropped', 'retrying', 'failed')),
  reason TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT,
  partner_status INTEGER,
  response_summary TEXT,
  duplicates INTEGER NOT NULL DEFAULT 0,
  replays INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  -- Start of the current retry window (first attempt, or the last replay): give up 4 h after it.
  window_started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (source, message_id, destination)
) WITHOUT ROWID;

CREATE INDEX deliveries_by_time ON deliveries (updated_at);

-- Event bodies kept for replay, written only when some destination did not get the event.
CREATE TABLE undelivered_events (
  source TEXT NOT NULL,
  message_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (source, message_id)
) WITHOUT ROWID;
