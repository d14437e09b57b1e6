-- A POST with an Idempotency-Key, first statement (migration 0014): the user's lock, then the key claimed with a new
-- log id; or the response of the request that claimed the key first, read under the lock.
SELECT event_at,
       release_tx,
       log_id,
       request_hash,
       response
FROM progress_claim_key(%(principal)s, %(key)s, %(user_id)s, %(request_hash)s)
