-- PATCH of a user's goals (JSON Merge Patch, RFC 7396): a member present sets its goal, null clears it, an absent
-- one keeps what the user has. The merge reads the goals only once the user's lock is held (the snapshot rule of
-- migration 0014), so two patches of different goals at the same moment both stay. The write itself is
-- `progress_write_goals`'s, as for a PUT: the same event (its data the whole goals after the patch) and projection.
-- Its own call of `progress_lock_user` finds the lock this transaction already holds and does not wait.
-- The caller checks the merged goals' rules and If-Match afterwards; a refusal rolls everything back.
CREATE FUNCTION progress_patch_goals(
    p_user text,
    p_patch jsonb,                 -- the members sent, values as JSON (dates as YYYY-MM-DD)
    p_actor text,
    p_request_id text,
    OUT prior_version integer,
    OUT prior_active boolean,
    OUT user_id text,
    OUT target_weight_kg double precision,
    OUT target_date date,
    OUT target_weight_set_at timestamptz,
    OUT weekly_workouts integer,
    OUT weekly_calories_burned double precision,
    OUT version integer,
    OUT updated_at timestamptz
)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    merged record;
BEGIN
    PERFORM progress_lock_user(p_user, p_first_write => true);
    SELECT CASE WHEN p_patch ? 'target_weight_kg'
                THEN (p_patch ->> 'target_weight_kg')::double precision
                ELSE g.target_weight_kg END AS target_weight_kg,
           CASE WHEN p_patch ? 'target_date'
                THEN (p_patch ->> 'target_date')::date
                ELSE g.target_date END AS target_date,
           CASE WHEN p_patch ? 'weekly_workouts'
                THEN (p_patch ->> 'weekly_workouts')::integer
                ELSE g.weekly_workouts END AS weekly_workouts,
           CASE WHEN p_patch ? 'weekly_calories_burned'
                THEN (p_patch ->> 'weekly_calories_burned')::double precision
                ELSE g.weekly_calories_burned END AS weekly_calories_burned
    INTO merged
    FROM (SELECT) AS one
    LEFT JOIN user_goals AS g ON g.user_id = p_user;
    SELECT w.prior_version, w.prior_active, w.user_id, w.target_weight_kg, w.target_date, w.target_weight_set_at,
           w.weekly_workouts, w.weekly_calories_burned, w.version, w.updated_at
    INTO prior_version, prior_active, user_id, target_weight_kg, target_date, target_weight_set_at,
         weekly_workouts, weekly_calories_burned, version, updated_at
    FROM progress_write_goals(
        p_user => p_user,
        p_clear => false,
        p_data => jsonb_build_object('target_weight_kg', merged.target_weight_kg,
                                     'target_date', merged.target_date,
                                     'weekly_workouts', merged.weekly_workouts,
                                     'weekly_calories_burned', merged.weekly_calories_burned),
        p_actor => p_actor,
        p_request_id => p_request_id,
        p_target_weight_kg => merged.target_weight_kg,
        p_target_date => merged.target_date,
        p_weekly_workouts => merged.weekly_workouts,
        p_weekly_calories_burned => merged.weekly_calories_burned
    ) AS w;
END
$$;
