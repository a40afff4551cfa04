-- Invoices: the local invoice catalog, each for a customer. Amounts are
-- integer minor units of the currency. The lines are kept with their
-- invoice as JSON, read and written whole. A deleted draft stays as a
-- tombstone (deleted_at set) so that its deletion can be synced.
CREATE TABLE invoices (
    id                 TEXT PRIMARY KEY,
    customer_id        TEXT NOT NULL,
    currency           TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    due_date           TIMESTAMPTZ,
    metadata           JSONB NOT NULL DEFAULT '{}',
    lines              JSONB NOT NULL DEFAULT '[]',
    status             TEXT NOT NULL,
    number             TEXT NOT NULL DEFAULT '',
    subtotal           BIGINT NOT NULL,
    total              BIGINT NOT NULL,
    amount_due         BIGINT NOT NULL,
    amount_paid        BIGINT NOT NULL,
    amount_remaining   BIGINT NOT NULL,
    hosted_invoice_url TEXT NOT NULL DEFAULT '',
    payment_failure    TEXT NOT NULL DEFAULT '',
    version            BIGINT NOT NULL,
    origin             TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    deleted_at         TIMESTAMPTZ
);
CREATE INDEX invoices_customer ON invoices (customer_id, id) WHERE deleted_at IS NULL;
