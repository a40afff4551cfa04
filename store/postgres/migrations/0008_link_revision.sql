-- revision counts the writes that move a link's sync state (base, watermark,
-- synced version, remote id): a change decided from a link read earlier is
-- written only if the link is still at the revision it read.
ALTER TABLE links ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
