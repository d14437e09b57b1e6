-- A page of a user's logs as they stood at a moment: the state each log was in then (valid_from <= as_of < valid_to),
-- a keyset range of (user_id, date, log_id) like the live page's, whatever the history. A NULL bound is no bound.
SELECT log_id,
       user_id,
       date,
       weight_kg,
       workout_done,
       calories_burned,
       notes,
       version,
       created_at,
       valid_from AS updated_at,
       weight_lb,
       source,
       device
FROM progress_log_versions
WHERE user_id = %(user_id)s
  AND (%(source)s::text IS NULL OR source = %(source)s)
  AND valid_from <= %(as_of)s
  AND valid_to > %(as_of)s
  AND (%(after_date)s::date IS NULL OR (date, log_id) > (%(after_date)s, %(after_log_id)s))
  AND (%(from)s::date IS NULL OR date >= %(from)s)
  AND (%(to)s::date IS NULL OR date <= %(to)s)
ORDER BY date, log_id
LIMIT %(limit)s
