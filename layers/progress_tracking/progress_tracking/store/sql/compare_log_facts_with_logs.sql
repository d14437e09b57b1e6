-- The users whose facts the summaries fold (migration 0011: months, weeks, runs of weeks, workout counts) are not
-- what their logs give. Sums of floats may differ in their last bits with the order of addition; the rest is exact.
WITH months AS (
    SELECT f.*
    FROM (SELECT DISTINCT user_id, date_trunc('month', date::timestamp)::date AS month FROM progress_logs) AS t,
         progress_log_month_facts(t.user_id, t.month) AS f
),
weeks AS (
    SELECT f.*
    FROM (SELECT DISTINCT user_id, date_trunc('week', date::timestamp)::date AS week FROM progress_logs) AS t,
         progress_log_week_facts(t.user_id, t.week) AS f
),
week_runs AS (
    SELECT user_id, range_agg(daterange(week, week + 7)) AS weeks
    FROM weeks
    GROUP BY user_id
),
workout_counts AS (
    SELECT user_id, progress_workout_kind(workout_done) AS kind, count(*) AS log_count
    FROM progress_logs
    WHERE workout_done IS NOT NULL
    GROUP BY 1, 2
)
SELECT user_id
FROM months AS e
FULL JOIN progress_log_months AS m USING (user_id, month)
WHERE e.user_id IS NULL
   OR m.user_id IS NULL
   OR (e.log_count, e.days, e.weight_count, e.min_weight, e.max_weight, e.first_weight, e.latest_weight,
       e.calories_count)
      IS DISTINCT FROM
      (m.log_count, m.days, m.weight_count, m.min_weight, m.max_weight, m.first_weight, m.latest_weight,
       m.calories_count)
   OR abs(e.weight_sum - m.weight_sum) > 1e-9 * greatest(abs(e.weight_sum), 1)
   OR abs(e.calories_sum - m.calories_sum) > 1e-9 * greatest(abs(e.calories_sum), 1)
UNION
SELECT user_id
FROM weeks AS e
FULL JOIN progress_log_weeks AS m USING (user_id, week)
WHERE e.user_id IS NULL
   OR m.user_id IS NULL
   OR e.workouts <> m.workouts
   OR abs(e.calories - m.calories) > 1e-9 * greatest(abs(e.calories), 1)
UNION
SELECT user_id
FROM week_runs AS e
FULL JOIN progress_log_week_runs AS m USING (user_id)
WHERE e.weeks IS DISTINCT FROM m.weeks
UNION
SELECT user_id
FROM workout_counts AS e
FULL JOIN progress_workout_counts AS m USING (user_id, kind)
WHERE e.log_count IS DISTINCT FROM m.log_count
ORDER BY 1
