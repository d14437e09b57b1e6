-- One relay per checkpoint at a time: a two-key advisory lock held until the batch's transaction ends (false: another
-- relay holds it). A relay container killed while its transaction is open must not hold the gates (and so an erasure)
-- for long: the transaction's idle limit.
SELECT pg_try_advisory_xact_lock(%(lock_class)s, hashtext(%(name)s)),
       set_config('idle_in_transaction_session_timeout', '120s', true)
