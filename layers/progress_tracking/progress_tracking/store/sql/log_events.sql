-- A log's events after a version, oldest first, at most `limit` of them (NULL: all): a range of the
-- (log_id, version) key.
SELECT position,
       log_id,
       user_id,
       version,
       event_type,
       data,
       actor,
       request_id,
       occurred_at
FROM progress_events
WHERE log_id = %(log_id)s
  AND version > %(after)s
ORDER BY version
LIMIT %(limit)s
