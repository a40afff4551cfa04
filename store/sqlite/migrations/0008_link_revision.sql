-- revision counts the writes that move a link's sync state (base, watermark,
-- synced version, remote id): a change computed from a link read earlier is
-- written only if the link is still at the revision it read.
ALTER TABLE links ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
-- push_until, while later than now (Unix milliseconds), says that a push of
-- the record to the integration is in flight: inbound changes of the record
-- wait for it, so that the push and they never decide from the same state.
ALTER TABLE links ADD COLUMN push_until BIGINT NOT NULL DEFAULT 0;
