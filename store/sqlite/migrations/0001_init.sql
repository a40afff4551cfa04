-- Customers: the local catalog. A deleted customer stays as a tombstone
-- (deleted_at set) so that its deletion can be synced.
CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '{}',
    metadata   TEXT NOT NULL DEFAULT '{}',
    version    INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    deleted_at DATETIME
);
CREATE INDEX customers_email ON customers (email) WHERE deleted_at IS NULL;

-- Links: the sync state of one record with one integration.
CREATE TABLE links (
    integration    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    local_id       TEXT NOT NULL,
    remote_id      TEXT NOT NULL DEFAULT '',
    synced_version INTEGER NOT NULL DEFAULT 0,
    base           BLOB,
    status         TEXT NOT NULL,
    last_error     TEXT NOT NULL DEFAULT '',
    attempts       INTEGER NOT NULL DEFAULT 0,
    synced_at      DATETIME,
    updated_at     DATETIME NOT NULL,
    PRIMARY KEY (integration, kind, local_id)
);
CREATE INDEX links_failed ON links (updated_at) WHERE status = 'failed';

-- Idempotency keys of API creates, with the first response.
CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   DATETIME NOT NULL
);
