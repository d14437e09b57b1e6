-- A new log's first statement: the user's lock (their stream created for a first log) and the new log's id.
SELECT event_at,
       release_tx,
       nextval('progress_log_id_seq') AS log_id
FROM progress_lock_user(%(user_id)s, p_first_write => true)
