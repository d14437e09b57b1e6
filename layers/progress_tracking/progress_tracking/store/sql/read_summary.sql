-- A summary: the stored one if it reflects the user's latest event, else the facts folded from the user's months,
-- stored on the way (migration 0016).
SELECT progress_summary_read(%(user_id)s, %(at)s)
