-- The erasure closes the user's gate (a two-key advisory lock, held until it commits): a relay batch that read the
-- user's events before the erasure committed holds it shared, so the erasure waits for that batch to be published, and
-- a batch that starts later finds the events gone (store.relay_log).
SELECT pg_advisory_xact_lock(%(gate_class)s, hashtext(%(user_id)s))
