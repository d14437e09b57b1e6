-- An upsert's first statement (migration 0019): the user's lock, the Idempotency-Key claimed if there is one, then
-- every item written or found unchanged, one row each in the items' order (or one `replayed` row with the stored
-- response of the request that claimed the key first).
SELECT item_index,
       outcome,
       log_id,
       version,
       deleted,
       state,
       created_at,
       updated_at,
       request_hash,
       response
FROM progress_upsert_logs(%(user_id)s, %(items)s, %(actor)s, %(request_id)s, %(principal)s, %(key)s,
                          %(request_hash)s)
