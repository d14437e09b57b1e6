-- An update's or a deletion's first statement: the lock of the log's user, then the live log as it is under the lock
-- (no row: no such log, or it was deleted or its user erased while this waited). Migration 0014.
SELECT event_at,
       release_tx,
       log_id,
       user_id,
       date,
       weight_kg,
       workout_done,
       calories_burned,
       notes,
       version,
       created_at,
       updated_at,
       weight_lb,
       source,
       device
FROM progress_lock_log(%(log_id)s)
