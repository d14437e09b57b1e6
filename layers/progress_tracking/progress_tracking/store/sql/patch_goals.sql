-- A goals PATCH in one statement (migration 0022): the user's lock, the goals read and merged with the patch under
-- it, then the event and the projection as for a PUT. The prior version and whether goals were set are for the
-- caller's If-Match check.
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
FROM progress_patch_goals(
    p_user => %(user_id)s,
    p_patch => %(patch)s,
    p_actor => %(actor)s,
    p_request_id => %(request_id)s
)
