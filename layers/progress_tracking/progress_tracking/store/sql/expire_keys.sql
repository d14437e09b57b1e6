-- Keys older than their lifetime are forgotten (the scheduled recompute runs this).
DELETE FROM idempotency_keys
WHERE created_at < %(before)s
