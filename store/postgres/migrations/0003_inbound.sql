-- The newest remote change applied to each link, and links found by remote
-- id: one local record per remote record, so two changes racing to bring the
-- same remote record in cannot make two local ones.
ALTER TABLE links ADD COLUMN watermark BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX links_remote ON links (integration, kind, remote_id) WHERE remote_id <> '';

-- Inbound events as received, verified, once each.
CREATE TABLE inbox (
    integration TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration, event_id)
);
