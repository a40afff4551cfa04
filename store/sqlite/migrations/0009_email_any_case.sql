-- Customers are found by email exactly (the API's filter) or in any case
-- (reconciliation): one index on the lower-cased email serves both, so a
-- write maintains no more indexes than before.
DROP INDEX customers_email;
CREATE INDEX customers_email_lower ON customers (lower(email)) WHERE deleted_at IS NULL;
