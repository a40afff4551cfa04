-- Invoices: the local invoice catalog, each for a customer. Amounts are
-- integer minor units of the currency. The lines are kept with their
-- invoice as JSON, read and written whole. A deleted draft stays as a
-- tombstone (deleted_at set) so that its deletion can be synced.
CREATE TABLE invoices (
    id                 TEXT PRIMARY KEY,
    customer_id        TEXT NOT NULL,
    currency           TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    due_date           DATETIME,
    metadata           TEXT NOT NULL DEFAULT '{}',
    lines              TEXT NOT NULL DEFAULT '[]',
    status             TEXT NOT NULL,
    number             TEXT NOT NULL DEFAULT '',
    subtotal           INTEGER NOT NULL,
    total              INTEGER NOT NULL,
    amount_due         INTEGER NOT NULL,
    amount_paid        INTEGER NOT NULL,
    amount_remaining   INTEGER NOT NULL,
    hosted_invoice_url TEXT NOT NULL DEFAULT '',
    payment_failure    TEXT NOT NULL DEFAULT '',
    version            INTEGER NOT NULL,
    origin             TEXT NOT NULL,
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL,
    deleted_at         DATETIME
);
CREATE INDEX invoices_customer ON invoices (customer_id, id) WHERE deleted_at IS NULL;
