-- A rebuild of the projections waits for the writes in flight instead of deadlocking with them.
--
-- Migration 0015's rebuild locked progress_logs and then progress_log_versions; a write takes them the other way round
-- (its event writes the log's state in time, then its projection row), and a delete-all in this order. A write held
-- between the two made one of them the deadlock's victim: a 503 for a client, or a failed rebuild for the operator.
-- Every write takes its user's lock, a row of user_streams, first; locking that table against writers (EXCLUSIVE
-- still lets reads through) before anything else waits for the writes in flight to commit and holds new ones at their
-- first statement, before they touch any table the rebuild replaces. It waits for its locks as long as its statement
-- may run (no lock_timeout of its own): a request's one-second lock wait is shorter than the second autovacuum takes to
-- give way to a lock it holds (deadlock_timeout), and an operator's rebuild should not fail on that. Everything else as
-- in 0015.
CREATE OR REPLACE FUNCTION progress_replace_projections() RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    live bigint;
BEGIN
    PERFORM set_config('progress_tracking.rebuilding', 'on', true);
    PERFORM set_config('lock_timeout', '0', true);
    LOCK TABLE user_streams IN EXCLUSIVE MODE;
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
