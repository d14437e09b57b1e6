-- A rollback's first statement: the lock of the log's user, then every event of the log as they are under the lock,
-- oldest first (no row: no such log, or its user was erased while this waited). Migration 0014.
SELECT event_at,
       release_tx,
       position,
       log_id,
       user_id,
       version,
       event_type,
       data,
       actor,
       request_id,
       occurred_at
FROM progress_lock_log_events(%(log_id)s)
