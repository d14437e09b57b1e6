-- A ranged summary (from/to): the user's facts over the logs of the range, read from them and never stored
-- (migration 0016).
SELECT facts
FROM progress_summary_from_logs(%(user_id)s, %(from)s, %(to)s)
