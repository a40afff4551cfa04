-- The version of a record whose parked push an operator discarded: that
-- version is not pushed (status discarded); a later one is.
ALTER TABLE links ADD COLUMN discarded_version BIGINT NOT NULL DEFAULT 0;
