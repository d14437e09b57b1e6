-- The projections as the events alone give them, written once for `python progress_tracking_app.py rebuild`, which
-- compares them with the live ones and, with --apply, replaces them. Set-returning SQL functions: the planner inlines
-- them into the statements that read them, as if their query were written there.

-- Every live log as the events say: the latest event of each log, unless it is a deletion, born when its first event
-- happened. Rows of progress_logs.
CREATE FUNCTION progress_logs_from_events() RETURNS SETOF progress_logs
    LANGUAGE sql STABLE AS $$
    WITH events AS (
        SELECT *
        FROM progress_events
    ),
    latest AS (
        SELECT DISTINCT ON (log_id) *
        FROM events
        ORDER BY log_id, version DESC
    ),
    born AS (
        SELECT log_id, min(occurred_at) AS created_at
        FROM events
        GROUP BY log_id
    )
    SELECT latest.log_id,
           latest.user_id,
           (latest.data ->> 'date')::date,
           (latest.data ->> 'weight_kg')::float8,
           latest.data ->> 'workout_done',
           (latest.data ->> 'calories_burned')::float8,
           latest.data ->> 'notes',
           latest.version,
           born.created_at,
           latest.occurred_at
    FROM latest
    JOIN born USING (log_id)
    WHERE latest.event_type <> 'deleted'
$$;

-- Every state of every log as the events say (what progress_log_versions holds, as migration 0006 backfilled it): the
-- state each event other than a deletion produced, valid from that event's time until the log's next event.
CREATE FUNCTION progress_log_versions_from_events() RETURNS SETOF progress_log_versions
    LANGUAGE sql STABLE AS $$
    SELECT e.log_id,
           e.version,
           e.user_id,
           (e.data ->> 'date')::date,
           (e.data ->> 'weight_kg')::float8,
           e.data ->> 'workout_done',
           (e.data ->> 'calories_burned')::float8,
           e.data ->> 'notes',
           e.created_at,
           e.valid_from,
           e.valid_to
    FROM (SELECT *,
                 min(occurred_at) OVER (PARTITION BY log_id) AS created_at,
                 occurred_at AS valid_from,
                 coalesce(lead(occurred_at) OVER (PARTITION BY log_id ORDER BY version), 'infinity') AS valid_to
          FROM progress_events) AS e
    WHERE e.event_type <> 'deleted'
$$;

-- Replace the log projection and the logs' states in time with what the events give, and the facts the summaries fold
-- (migration 0011) with those of the new logs; the number of live logs. The logs' triggers stand aside for this
-- transaction (the setting they read): the facts are written once, set-based, at the end.
CREATE FUNCTION progress_replace_projections() RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    live bigint;
BEGIN
    PERFORM set_config('progress_tracking.rebuilding', 'on', true);
    LOCK TABLE progress_logs IN EXCLUSIVE MODE;
    DELETE FROM progress_logs;
    INSERT INTO progress_logs
    SELECT * FROM progress_logs_from_events();
    GET DIAGNOSTICS live = ROW_COUNT;
    LOCK TABLE progress_log_versions IN EXCLUSIVE MODE;
    DELETE FROM progress_log_versions;
    INSERT INTO progress_log_versions
    SELECT * FROM progress_log_versions_from_events();
    DELETE FROM progress_log_months;
    INSERT INTO progress_log_months
    SELECT f.*
    FROM (SELECT DISTINCT user_id, date_trunc('month', date::timestamp)::date AS month FROM progress_logs) AS t,
         progress_log_month_facts(t.user_id, t.month) AS f;
    DELETE FROM progress_log_weeks;
    INSERT INTO progress_log_weeks
    SELECT f.*
    FROM (SELECT DISTINCT user_id, date_trunc('week', date::timestamp)::date AS week FROM progress_logs) AS t,
         progress_log_week_facts(t.user_id, t.week) AS f;
    DELETE FROM progress_log_week_runs;
    INSERT INTO progress_log_week_runs
    SELECT user_id, range_agg(daterange(week, week + 7))
    FROM progress_log_weeks
    GROUP BY user_id;
    DELETE FROM progress_workout_counts;
    INSERT INTO progress_workout_counts
    SELECT user_id, progress_workout_kind(workout_done), count(*)
    FROM progress_logs
    WHERE workout_done IS NOT NULL
    GROUP BY 1, 2;
    RETURN live;
END
$$;
