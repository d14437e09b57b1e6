-- A goals write in one statement (migration 0014): the user's lock, the goals read under it, the event and the
-- projection. The prior version and whether goals were set are for the caller's If-Match check.
SELECT prior_version,
       prior_active,
       user_id,
       target_weight_kg,
       target_date,
       target_weight_set_at,
       weekly_workouts,
       weekly_calories_burned,
       version,
       updated_at
FROM progress_write_goals(
    p_user => %(user_id)s,
    p_clear => %(clear)s,
    p_data => %(data)s,
    p_actor => %(actor)s,
    p_request_id => %(request_id)s,
    p_target_weight_kg => %(target_weight_kg)s,
    p_target_date => %(target_date)s,
    p_weekly_workouts => %(weekly_workouts)s,
    p_weekly_calories_burned => %(weekly_calories_burned)s
)
