-- A transaction-level advisory lock, waited for (within the transaction's lock timeout) and held until it ends:
-- works through a transaction-mode pooler.
SELECT pg_advisory_xact_lock(%(key)s)
