-- A user's goals; no row when they have none. A cleared user keeps the row with every target null, so that the
-- goals' versions carry on: "no goals" is exactly "every target is null".
SELECT user_id,
       target_weight_kg,
       target_date,
       target_weight_set_at,
       weekly_workouts,
       weekly_calories_burned,
       version,
       updated_at
FROM user_goals
WHERE user_id = %(user_id)s
  AND (target_weight_kg IS NOT NULL OR weekly_workouts IS NOT NULL OR weekly_calories_burned IS NOT NULL)
