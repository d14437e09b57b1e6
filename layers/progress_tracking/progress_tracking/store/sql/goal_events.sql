-- A user's goals events after a version, oldest first, at most `limit` of them (NULL: all): a range of the
-- (user_id, version) key.
SELECT user_id,
       version,
       event_type,
       data,
       actor,
       request_id,
       occurred_at
FROM goal_events
WHERE user_id = %(user_id)s
  AND version > %(after)s
ORDER BY version
LIMIT %(limit)s
