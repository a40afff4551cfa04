-- Where each integration's events poller continues from.
CREATE TABLE cursors (
    integration TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
