-- Time travel without folding a user's history on every page: every state a log has been in, valid from the time of
-- the event that produced it until the time of the log's next event (a deletion ends a state and starts none). It is
-- written in the transaction of each event, under the user's lock; the events stay the source of truth (the rebuild
-- command compares it with the events' fold). An as_of page is a keyset scan of (user_id, date, log_id) keeping the
-- states with valid_from <= as_of < valid_to. Backfilled here from the events.
CREATE TABLE progress_log_versions (
    log_id          bigint      NOT NULL,
    version         integer     NOT NULL,
    user_id         text        NOT NULL,
    date            date        NOT NULL,
    weight_kg       double precision,
    workout_done    text,
    calories_burned double precision,
    notes           text,
    created_at      timestamptz NOT NULL,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz NOT NULL DEFAULT 'infinity',
    PRIMARY KEY (log_id, version)
);
INSERT INTO progress_log_versions
SELECT log_id, version, user_id, (data->>'date')::date, (data->>'weight_kg')::float8, data->>'workout_done',
       (data->>'calories_burned')::float8, data->>'notes', created_at, valid_from, valid_to
FROM (SELECT *, min(occurred_at) OVER (PARTITION BY log_id) AS created_at, occurred_at AS valid_from,
             coalesce(lead(occurred_at) OVER (PARTITION BY log_id ORDER BY version), 'infinity') AS valid_to
      FROM progress_events) AS e
WHERE event_type <> 'deleted';
CREATE INDEX progress_log_versions_user_date_idx ON progress_log_versions (user_id, date, log_id);
-- Summaries read a user's logs by date with index-only scans.
CREATE INDEX progress_logs_user_date_covering_idx ON progress_logs (user_id, date)
    INCLUDE (weight_kg, calories_burned, workout_done);
