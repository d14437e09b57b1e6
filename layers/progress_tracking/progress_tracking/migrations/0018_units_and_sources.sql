-- Units and sources (issue 24, items 1 and 2). A log keeps its weight in kg (weight_kg: what summaries, series and
-- goals compute with, whatever the unit) and, when it was entered in pounds, the pounds as entered: weight_lb is
-- numeric, an exact decimal, so 170.2 lb is answered 170.2, never a float converted there and back (170.19999...).
-- NULL weight_lb: the weight, if any, was entered in kg (and weight_kg holds it as entered). A log also records where
-- it came from: source (a short name the client chooses; 'manual' when it names none, old logs included) and
-- optionally the device. The events' data carries the same fields (and weight_unit), so the folds below read them.
--
-- Expand only: the release before this one writes both tables with named columns (the new ones take their defaults)
-- and reads progress_lock_log's columns by name.
ALTER TABLE progress_logs
    ADD COLUMN weight_lb numeric,
    ADD COLUMN source text NOT NULL DEFAULT 'manual',
    ADD COLUMN device text;
ALTER TABLE progress_log_versions
    ADD COLUMN weight_lb numeric,
    ADD COLUMN source text NOT NULL DEFAULT 'manual',
    ADD COLUMN device text;

-- The list filtered by source: a keyset range of its own, so a page costs the same however many logs of other
-- sources the user has.
CREATE INDEX progress_logs_user_source_date_idx ON progress_logs (user_id, source, date, log_id);

-- Migration 0014's progress_lock_log, answering the new columns too (its result type changes, so drop and create).
DROP FUNCTION progress_lock_log(bigint);
CREATE FUNCTION progress_lock_log(p_log_id bigint)
    RETURNS TABLE (
        event_at        timestamptz,
        release_tx      xid8,
        log_id          bigint,
        user_id         text,
        date            date,
        weight_kg       double precision,
        workout_done    text,
        calories_burned double precision,
        notes           text,
        version         integer,
        created_at      timestamptz,
        updated_at      timestamptz,
        weight_lb       numeric,
        source          text,
        device          text
    )
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    log_owner text;
    user_lock record;
BEGIN
    SELECT l.user_id
    INTO log_owner
    FROM progress_logs AS l
    WHERE l.log_id = p_log_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT *
    INTO user_lock
    FROM progress_lock_user(log_owner);
    IF NOT user_lock.locked THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT user_lock.event_at, user_lock.release_tx, l.log_id, l.user_id, l.date, l.weight_kg, l.workout_done,
           l.calories_burned, l.notes, l.version, l.created_at, l.updated_at, l.weight_lb, l.source, l.device
    FROM progress_logs AS l
    WHERE l.log_id = p_log_id
    FOR UPDATE;
END
$$;

-- Migration 0014's delete-all, its deletion events keeping the new fields of the state they delete (as a single
-- deletion's event does). Everything else as there.
CREATE OR REPLACE FUNCTION progress_delete_all_logs(p_user text, p_actor text, p_request_id text,
                                                    OUT deleted_logs bigint, OUT deleted_at timestamptz)
    LANGUAGE plpgsql AS $$
DECLARE
    user_lock record;
BEGIN
    deleted_logs := 0;
    SELECT *
    INTO user_lock
    FROM progress_lock_user(p_user);
    IF NOT user_lock.locked THEN
        RETURN;
    END IF;
    deleted_at := user_lock.event_at;
    WITH gone AS (
        DELETE FROM progress_logs
        WHERE user_id = p_user
        RETURNING log_id, version, date, weight_kg, workout_done, calories_burned, notes, weight_lb, source, device
    ),
    events AS (
        INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at,
                                     stream_position, release_tx)
        SELECT log_id,
               p_user,
               version + 1,
               'deleted',
               jsonb_build_object('date', date, 'weight_kg', weight_kg, 'workout_done', workout_done,
                                  'calories_burned', calories_burned, 'notes', notes, 'weight_lb', weight_lb,
                                  'source', source, 'device', device,
                                  'weight_unit', CASE WHEN weight_lb IS NOT NULL THEN 'lb'
                                                      WHEN weight_kg IS NOT NULL THEN 'kg' END),
               p_actor,
               p_request_id,
               deleted_at,
               nextval('user_stream_version_seq'),
               user_lock.release_tx
        FROM gone
        RETURNING stream_position
    )
    UPDATE user_streams
    SET version = moved.latest,
        last_at = deleted_at,
        release_tx = user_lock.release_tx
    FROM (SELECT max(stream_position) AS latest, count(*) AS events FROM events) AS moved
    WHERE user_id = p_user
      AND moved.events > 0
    RETURNING moved.events INTO deleted_logs;
    deleted_logs := coalesce(deleted_logs, 0);
END
$$;

-- Migration 0015's folds of the events, with the new columns (in the tables' order: they were added last). Events
-- written before this migration have no source: they were 'manual', as every log was.
CREATE OR REPLACE FUNCTION progress_logs_from_events() RETURNS SETOF progress_logs
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
           latest.occurred_at,
           (latest.data ->> 'weight_lb')::numeric,
           coalesce(latest.data ->> 'source', 'manual'),
           latest.data ->> 'device'
    FROM latest
    JOIN born USING (log_id)
    WHERE latest.event_type <> 'deleted'
$$;

CREATE OR REPLACE FUNCTION progress_log_versions_from_events() RETURNS SETOF progress_log_versions
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
           e.valid_to,
           (e.data ->> 'weight_lb')::numeric,
           coalesce(e.data ->> 'source', 'manual'),
           e.data ->> 'device'
    FROM (SELECT *,
                 min(occurred_at) OVER (PARTITION BY log_id) AS created_at,
                 occurred_at AS valid_from,
                 coalesce(lead(occurred_at) OVER (PARTITION BY log_id ORDER BY version), 'infinity') AS valid_to
          FROM progress_events) AS e
    WHERE e.event_type <> 'deleted'
$$;
