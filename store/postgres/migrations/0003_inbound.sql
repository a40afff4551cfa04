-- The newest remote change applied to each link, and links found by remote id.
ALTER TABLE links ADD COLUMN watermark BIGINT NOT NULL DEFAULT 0;
CREATE INDEX links_remote ON links (integration, kind, remote_id);

-- Inbound events as received, verified, once each.
CREATE TABLE inbox (
    integration TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration, event_id)
);
