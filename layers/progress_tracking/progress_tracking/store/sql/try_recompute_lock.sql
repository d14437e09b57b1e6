-- The recompute's run lock, tried in a transaction of its own that reads no table and sits idle while the run works
-- (false: another run holds it). Its idle limit (in ms, as text) frees the lock if the container dies.
SELECT pg_try_advisory_xact_lock(%(key)s),
       set_config('idle_in_transaction_session_timeout', %(idle_limit_ms)s, true)
