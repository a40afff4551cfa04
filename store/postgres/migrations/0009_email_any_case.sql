-- Reconciliation links records by email without regard to case.
CREATE INDEX customers_email_lower ON customers (lower(email)) WHERE deleted_at IS NULL;
