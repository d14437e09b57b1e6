-- A summary folds a few facts per user and month (and, for weekly goals, week) instead of reading every log: a stale
-- summary of a user with 10,000 logs read them all (~11 ms) after any change but a new day's log, and twice with
-- weekly goals. The facts are kept by progress_logs' own triggers, in the transaction of every change to the logs
-- (under the user's lock, as every such change is): each month and week a statement touched is computed again from
-- its logs (a few dozen), and the workout counts move by the statement's rows. Backfilled here, in this migration's
-- transaction (writers wait for it: the triggers' lock).
CREATE TABLE progress_log_months (
    user_id        text           NOT NULL,
    month          date           NOT NULL,  -- its first day
    log_count      bigint         NOT NULL,
    days           datemultirange NOT NULL,  -- the dates logged: the union of the months' gives the streaks
    weight_count   bigint         NOT NULL,
    weight_sum     float8         NOT NULL,
    min_weight     float8,
    max_weight     float8,
    first_weight   float8,                   -- of the month's first weighed log, by (date, log_id)
    latest_weight  float8,                   -- of its last
    calories_count bigint         NOT NULL,
    calories_sum   float8         NOT NULL,
    PRIMARY KEY (user_id, month)
);

-- Per user and ISO week with logs: what the weekly goals count. The key includes both, so that a streak's backward
-- scan is index-only (a user's weeks lie scattered over the heap: 1-2.5 ms for 1,429 weeks with heap fetches, at a
-- million logs, against ~0.4 ms).
CREATE TABLE progress_log_weeks (
    user_id  text   NOT NULL,
    week     date   NOT NULL,  -- its Monday
    workouts bigint NOT NULL,  -- logs that name a workout
    calories float8 NOT NULL,  -- calories burned in all
    PRIMARY KEY (user_id, week) INCLUDE (workouts, calories)
);

-- Per user, the weeks with logs as one multirange of their days: its ranges are the runs of weeks in a row. A weekly
-- goal's streak is the run that ends last week, cut at its latest week short of the target (a scan of the run's
-- weeks back from its end that stops there). A week that appears or goes adds or removes its range: one row written,
-- however long the runs.
CREATE TABLE progress_log_week_runs (
    user_id text           PRIMARY KEY,
    weeks   datemultirange NOT NULL
);

-- How many of a user's logs name each kind of workout (progress_workout_kind).
CREATE TABLE progress_workout_counts (
    user_id   text   NOT NULL,
    kind      text   NOT NULL,
    log_count bigint NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- The kind of workout a log's text names, the one rule for it: lower-cased and trimmed.
CREATE FUNCTION progress_workout_kind(p_text text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(btrim(p_text))
$$;

-- One month's facts from its logs: index(-only) scans of (user_id, date[, log_id]). No row when it has no logs.
CREATE FUNCTION progress_log_month_facts(p_user text, p_month date) RETURNS SETOF progress_log_months
    LANGUAGE sql STABLE AS $$
    SELECT p_user, p_month, t.log_count, t.days, t.weight_count, t.weight_sum, t.min_weight, t.max_weight,
           (SELECT weight_kg FROM progress_logs WHERE user_id = p_user AND date >= p_month
             AND date < (p_month + interval '1 month')::date AND weight_kg IS NOT NULL ORDER BY date, log_id LIMIT 1),
           (SELECT weight_kg FROM progress_logs WHERE user_id = p_user AND date >= p_month
             AND date < (p_month + interval '1 month')::date AND weight_kg IS NOT NULL
             ORDER BY date DESC, log_id DESC LIMIT 1),
           t.calories_count, t.calories_sum
    FROM (SELECT count(*) AS log_count, range_agg(daterange(date, date, '[]')) AS days,
                 count(weight_kg) AS weight_count, coalesce(sum(weight_kg), 0) AS weight_sum,
                 min(weight_kg) AS min_weight, max(weight_kg) AS max_weight,
                 count(calories_burned) AS calories_count, coalesce(sum(calories_burned), 0) AS calories_sum
          FROM progress_logs WHERE user_id = p_user AND date >= p_month
           AND date < (p_month + interval '1 month')::date) AS t
    WHERE t.log_count > 0
$$;

-- One ISO week's facts from its logs; no row when it has none.
CREATE FUNCTION progress_log_week_facts(p_user text, p_week date) RETURNS SETOF progress_log_weeks
    LANGUAGE sql STABLE AS $$
    SELECT p_user, p_week, count(workout_done), coalesce(sum(calories_burned), 0) FROM progress_logs
    WHERE user_id = p_user AND date >= p_week AND date < p_week + 7 HAVING count(*) > 0
$$;

-- Bring the facts up to date after a statement changed these logs (parallel arrays: each log's user, date, workout
-- kind, and +1 for a row it wrote, -1 for one it removed or replaced).
CREATE FUNCTION progress_log_facts_changed(p_users text[], p_dates date[], p_kinds text[], p_signs int[])
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    moved_users text[];
    moved_weeks date[];
    appeared    boolean[];
BEGIN
    WITH touched AS (SELECT DISTINCT user_id, date_trunc('month', date::timestamp)::date AS month
                     FROM unnest(p_users, p_dates) AS t(user_id, date)),
         fresh AS (SELECT t.user_id AS touched_user, t.month AS touched_month, f.*
                   FROM touched AS t LEFT JOIN LATERAL progress_log_month_facts(t.user_id, t.month) AS f ON TRUE),
         gone AS (DELETE FROM progress_log_months AS m USING fresh
                  WHERE m.user_id = fresh.touched_user AND m.month = fresh.touched_month AND fresh.user_id IS NULL)
    INSERT INTO progress_log_months
    SELECT user_id, month, log_count, days, weight_count, weight_sum, min_weight, max_weight, first_weight,
           latest_weight, calories_count, calories_sum FROM fresh WHERE user_id IS NOT NULL
    ON CONFLICT (user_id, month) DO UPDATE SET log_count = EXCLUDED.log_count, days = EXCLUDED.days,
        weight_count = EXCLUDED.weight_count, weight_sum = EXCLUDED.weight_sum, min_weight = EXCLUDED.min_weight,
        max_weight = EXCLUDED.max_weight, first_weight = EXCLUDED.first_weight,
        latest_weight = EXCLUDED.latest_weight, calories_count = EXCLUDED.calories_count,
        calories_sum = EXCLUDED.calories_sum;
    WITH touched AS (SELECT DISTINCT user_id, date_trunc('week', date::timestamp)::date AS week
                     FROM unnest(p_users, p_dates) AS t(user_id, date)),
         fresh AS (SELECT t.user_id AS touched_user, t.week AS touched_week, f.*
                   FROM touched AS t LEFT JOIN LATERAL progress_log_week_facts(t.user_id, t.week) AS f ON TRUE),
         gone AS (DELETE FROM progress_log_weeks AS w USING fresh
                  WHERE w.user_id = fresh.touched_user AND w.week = fresh.touched_week AND fresh.user_id IS NULL
                  RETURNING w.user_id, w.week),
         saved AS (INSERT INTO progress_log_weeks
                   SELECT user_id, week, workouts, calories FROM fresh WHERE user_id IS NOT NULL
                   ON CONFLICT (user_id, week) DO UPDATE SET workouts = EXCLUDED.workouts, calories = EXCLUDED.calories
                   RETURNING user_id, week, xmax = 0 AS inserted)
    SELECT array_agg(user_id), array_agg(week), array_agg(came) INTO moved_users, moved_weeks, appeared
    FROM (SELECT user_id, week, FALSE AS came FROM gone
          UNION ALL SELECT user_id, week, TRUE FROM saved WHERE inserted) AS moved;
    -- A week that appeared or went (a new week's first log, a week's last one deleted) joins or leaves the runs.
    IF moved_users IS NOT NULL THEN
        INSERT INTO progress_log_week_runs (user_id, weeks)
        SELECT DISTINCT user_id, '{}'::datemultirange FROM unnest(moved_users) AS m(user_id)
        ON CONFLICT (user_id) DO NOTHING;
        UPDATE progress_log_week_runs AS r SET weeks = (r.weeks + m.added) - m.removed
        FROM (SELECT user_id, coalesce(range_agg(daterange(week, week + 7)) FILTER (WHERE came), '{}') AS added,
                     coalesce(range_agg(daterange(week, week + 7)) FILTER (WHERE NOT came), '{}') AS removed
              FROM unnest(moved_users, moved_weeks, appeared) AS m(user_id, week, came) GROUP BY user_id) AS m
        WHERE r.user_id = m.user_id;
        DELETE FROM progress_log_week_runs WHERE user_id = ANY(moved_users) AND isempty(weeks);
    END IF;
    INSERT INTO progress_workout_counts AS c (user_id, kind, log_count)
    SELECT user_id, kind, sum(sign) FROM unnest(p_users, p_kinds, p_signs) AS t(user_id, kind, sign)
    WHERE kind IS NOT NULL GROUP BY user_id, kind HAVING sum(sign) <> 0
    ON CONFLICT (user_id, kind) DO UPDATE SET log_count = c.log_count + EXCLUDED.log_count;
    DELETE FROM progress_workout_counts WHERE user_id = ANY(p_users) AND log_count = 0;
END
$$;

-- One function for the three statement triggers; each branch reads only the transition tables its event has. A
-- rebuild of the whole projection (store.rebuild) sets progress_tracking.rebuilding for its transaction and writes
-- the facts itself, set-based, afterwards.
CREATE FUNCTION progress_logs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('progress_tracking.rebuilding', TRUE) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM progress_log_facts_changed(array_agg(user_id), array_agg(date),
            array_agg(progress_workout_kind(workout_done)), array_agg(1)) FROM new_logs HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM progress_log_facts_changed(array_agg(user_id), array_agg(date),
            array_agg(progress_workout_kind(workout_done)), array_agg(-1)) FROM old_logs HAVING count(*) > 0;
    ELSE
        PERFORM progress_log_facts_changed(array_agg(user_id), array_agg(date),
            array_agg(progress_workout_kind(workout_done)), array_agg(sign))
        FROM (SELECT user_id, date, workout_done, 1 AS sign FROM new_logs
              UNION ALL SELECT user_id, date, workout_done, -1 FROM old_logs) AS changed HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER progress_logs_inserted AFTER INSERT ON progress_logs REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT EXECUTE FUNCTION progress_logs_changed();
CREATE TRIGGER progress_logs_updated AFTER UPDATE ON progress_logs
    REFERENCING OLD TABLE AS old_logs NEW TABLE AS new_logs FOR EACH STATEMENT EXECUTE FUNCTION progress_logs_changed();
CREATE TRIGGER progress_logs_deleted AFTER DELETE ON progress_logs REFERENCING OLD TABLE AS old_logs
    FOR EACH STATEMENT EXECUTE FUNCTION progress_logs_changed();

LOCK TABLE progress_logs IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO progress_log_months
SELECT f.* FROM (SELECT DISTINCT user_id, date_trunc('month', date::timestamp)::date AS month FROM progress_logs) AS t,
     progress_log_month_facts(t.user_id, t.month) AS f;
INSERT INTO progress_log_weeks
SELECT user_id, date_trunc('week', date::timestamp)::date, count(workout_done), coalesce(sum(calories_burned), 0)
FROM progress_logs GROUP BY 1, 2;
INSERT INTO progress_log_week_runs
SELECT user_id, range_agg(daterange(week, week + 7)) FROM progress_log_weeks GROUP BY user_id;
INSERT INTO progress_workout_counts
SELECT user_id, progress_workout_kind(workout_done), count(*) FROM progress_logs WHERE workout_done IS NOT NULL
GROUP BY 1, 2;

-- The summaries no longer extend a stored one by the events since (migration 0009's last_position): the column stays
-- until no deployed code writes it (a recompute of the release before, running during a deploy, still does).
