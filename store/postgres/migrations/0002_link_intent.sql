-- What an unfinished push saved before calling its provider.
ALTER TABLE links ADD COLUMN intent BYTEA;
