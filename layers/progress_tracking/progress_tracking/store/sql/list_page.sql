-- A page of a user's live logs, oldest first: a keyset range of (user_id, date, log_id), so every page costs the
-- same. A NULL bound (or source) is no bound (the planner folds it away: the plan is the one without it); with a
-- source, the range is one of (user_id, source, date, log_id) (migration 0018).
SELECT log_id,
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
FROM progress_logs
WHERE user_id = %(user_id)s
  AND (%(source)s::text IS NULL OR source = %(source)s)
  AND (%(after_date)s::date IS NULL OR (date, log_id) > (%(after_date)s, %(after_log_id)s))
  AND (%(from)s::date IS NULL OR date >= %(from)s)
  AND (%(to)s::date IS NULL OR date <= %(to)s)
ORDER BY date, log_id
LIMIT %(limit)s
