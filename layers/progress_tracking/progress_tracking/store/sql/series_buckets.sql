-- A user's logs totalled per bucket (a day, an ISO week or a month), one row per bucket from the first to the last,
-- empty ones included. The logs are the live ones, or with as_of the states they were in at that moment (the source
-- time travel reads); the branch that does not apply is folded away by the planner.
WITH logs AS (
    SELECT date, weight_kg, workout_done, calories_burned
    FROM progress_logs
    WHERE %(as_of)s::timestamptz IS NULL
      AND user_id = %(user_id)s
      AND date >= %(first)s
      AND date <= %(end)s
    UNION ALL
    SELECT date, weight_kg, workout_done, calories_burned
    FROM progress_log_versions
    WHERE %(as_of)s::timestamptz IS NOT NULL
      AND user_id = %(user_id)s
      AND valid_from <= %(as_of)s
      AND valid_to > %(as_of)s
      AND date >= %(first)s
      AND date <= %(end)s
),
totals AS (
    SELECT date_trunc(%(unit)s, date::timestamp)::date AS start,
           count(*) AS logs,
           count(workout_done) AS workouts,
           coalesce(sum(calories_burned), 0) AS calories,
           avg(weight_kg) AS average,
           min(weight_kg) AS minimum,
           max(weight_kg) AS maximum
    FROM logs
    GROUP BY 1
)
SELECT b.start,
       coalesce(t.logs, 0),
       coalesce(t.workouts, 0),
       coalesce(t.calories, 0),
       t.average,
       t.minimum,
       t.maximum
FROM (SELECT generate_series(%(first)s::timestamp, %(last)s::timestamp, %(step)s::interval)::date AS start) AS b
LEFT JOIN totals AS t USING (start)
ORDER BY b.start
