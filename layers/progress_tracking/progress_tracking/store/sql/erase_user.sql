-- Every row of a user, deleted for good under their lock, counted per table. The logs' triggers remove the facts kept
-- from them (migration 0011). Erasure tombstones stay: they publish the erasure.
WITH deleted_events AS (
    DELETE FROM progress_events
    WHERE user_id = %(user_id)s
    RETURNING 1
),
deleted_logs AS (
    DELETE FROM progress_logs
    WHERE user_id = %(user_id)s
    RETURNING 1
),
deleted_log_versions AS (
    DELETE FROM progress_log_versions
    WHERE user_id = %(user_id)s
    RETURNING 1
),
deleted_summaries AS (
    DELETE FROM progress_summaries
    WHERE user_id = %(user_id)s
    RETURNING 1
),
deleted_idempotency_keys AS (
    DELETE FROM idempotency_keys
    WHERE user_id = %(user_id)s
    RETURNING 1
),
deleted_goal_events AS (
    DELETE FROM goal_events
    WHERE user_id = %(user_id)s
    RETURNING 1
),
deleted_goals AS (
    DELETE FROM user_goals
    WHERE user_id = %(user_id)s
    RETURNING 1
),
deleted_client_records AS (
    DELETE FROM progress_client_records
    WHERE user_id = %(user_id)s
    RETURNING 1
),
deleted_streams AS (
    DELETE FROM user_streams
    WHERE user_id = %(user_id)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM deleted_events) AS events,
       (SELECT count(*) FROM deleted_logs) AS logs,
       (SELECT count(*) FROM deleted_log_versions) AS log_versions,
       (SELECT count(*) FROM deleted_summaries) AS summaries,
       (SELECT count(*) FROM deleted_idempotency_keys) AS idempotency_keys,
       (SELECT count(*) FROM deleted_goal_events) AS goal_events,
       (SELECT count(*) FROM deleted_goals) AS goals,
       (SELECT count(*) FROM deleted_client_records) AS client_records,
       (SELECT count(*) FROM deleted_streams) AS streams
