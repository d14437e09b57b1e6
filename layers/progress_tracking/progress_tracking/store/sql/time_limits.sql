-- The time limits of the transaction (set_config with true is SET LOCAL, the values bound; in ms, as text): for each
-- statement, and for each lock a statement waits for, which counts inside the statement's time.
SELECT set_config('statement_timeout', %(statement_timeout_ms)s, true),
       set_config('lock_timeout', %(lock_timeout_ms)s, true)
