-- One per-user lock, written once: `progress_lock_user`. Every write of a user's data calls it first (a new log, an
-- update, a deletion, a rollback, a delete-all, an idempotent claim, a goals write, an erasure).
--
-- The lock is the user's `user_streams` row. Writers lock it FOR NO KEY UPDATE (all they need to move its version):
-- they queue behind each other and behind an erasure, which locks it FOR UPDATE and then deletes it. A summary being
-- stored holds it FOR KEY SHARE, which waits for an erasure only, never for a writer.
--
-- The snapshot rule. In READ COMMITTED a statement reads the database as it was when the statement began, and that
-- may be before a lock it then waited for: what it reads besides the locked row can miss a write that committed
-- meanwhile. Each statement of a volatile plpgsql function takes a new snapshot, though. So a write reads what it
-- needs of the user's data only after the lock is held: in the statements of a function after its call of
-- `progress_lock_user` (the functions below), or in a later statement of its transaction.
--
-- What writers need, read under the lock and returned with it:
--   event_at   the time to stamp the write's events with: the database's clock, never earlier than the stream's
--              latest event (a server whose clock ran ahead left last_at in the future);
--   release_tx the relay's order (migration 0013): the greatest transaction id among this write's and every earlier
--              event of the user, going on from the tombstone of the user's erasure for a stream started after one.
-- `locked` is false when the user has no stream and the caller did not ask for one: the user has nothing to change.
CREATE FUNCTION progress_lock_user(
    p_user text,
    p_first_write boolean DEFAULT false,  -- create the stream if the user has none (a first log, first goals)
    p_erasing boolean DEFAULT false,      -- lock FOR UPDATE, creating the stream if there is none, to delete it
    OUT locked boolean,
    OUT created boolean,                  -- this call created the stream
    OUT event_at timestamptz,
    OUT release_tx xid8
)
    LANGUAGE plpgsql AS $$
DECLARE
    stream record;
BEGIN
    created := false;
    LOOP
        IF p_erasing THEN
            SELECT s.last_at, s.release_tx
            INTO stream
            FROM user_streams AS s
            WHERE s.user_id = p_user
            FOR UPDATE;
        ELSE
            SELECT s.last_at, s.release_tx
            INTO stream
            FROM user_streams AS s
            WHERE s.user_id = p_user
            FOR NO KEY UPDATE;
        END IF;
        locked := FOUND;
        EXIT WHEN locked OR NOT (p_first_write OR p_erasing);
        -- No stream: create it, then lock it. A stream a concurrent first write is creating makes this wait for that
        -- write and then do nothing (a check, never an error in the server's log); one an erasure deleted meanwhile
        -- is created again. Either way the loop's next statement, with a new snapshot, finds the row.
        INSERT INTO user_streams (user_id, version)
        VALUES (p_user, 0)
        ON CONFLICT (user_id) DO NOTHING;
        created := created OR FOUND;
    END LOOP;
    IF locked THEN
        event_at := greatest(clock_timestamp(), stream.last_at);
        release_tx := greatest(pg_current_xact_id(),
                               coalesce(stream.release_tx,
                                        (SELECT max(t.release_tx)
                                         FROM erasure_tombstones AS t
                                         WHERE t.user_id = p_user)));
    END IF;
END
$$;

-- An update's or a deletion's first statement: the lock of the log's user, then the log as it is now (none when
-- there is no such log, or it was deleted or its user erased while this waited). The log's row is locked too.
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
        updated_at      timestamptz
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
           l.calories_burned, l.notes, l.version, l.created_at, l.updated_at
    FROM progress_logs AS l
    WHERE l.log_id = p_log_id
    FOR UPDATE;
END
$$;

-- A rollback's first statement: the lock of the log's user, then every event of the log (deleted or not), oldest
-- first; none when there is no such log, or its user was erased while this waited.
CREATE FUNCTION progress_lock_log_events(p_log_id bigint)
    RETURNS TABLE (
        event_at    timestamptz,
        release_tx  xid8,
        "position"  bigint,  -- quoted: a keyword where a parameter is named
        log_id      bigint,
        user_id     text,
        version     integer,
        event_type  text,
        data        jsonb,
        actor       text,
        request_id  text,
        occurred_at timestamptz
    )
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    log_owner text;
    user_lock record;
BEGIN
    SELECT e.user_id
    INTO log_owner
    FROM progress_events AS e
    WHERE e.log_id = p_log_id
    LIMIT 1;
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
    SELECT user_lock.event_at, user_lock.release_tx, e.position, e.log_id, e.user_id, e.version, e.event_type, e.data,
           e.actor, e.request_id, e.occurred_at
    FROM progress_events AS e
    WHERE e.log_id = p_log_id
    ORDER BY e.version;
END
$$;

-- A POST with an Idempotency-Key, first statement: the user's lock (their stream created for a first log), then the
-- key claimed for this request, and a new log id; or, when another request holds the key, its response. A request
-- with the same key still in flight holds the user's lock, so this waits for it; its response is then read by
-- the function's next statement (none: its key vanished meanwhile, expired or erased).
CREATE FUNCTION progress_claim_key(
    p_principal text,
    p_key text,
    p_user text,
    p_request_hash text,
    OUT event_at timestamptz,
    OUT release_tx xid8,
    OUT log_id bigint,          -- the new log's id when this request owns the key
    OUT request_hash text,      -- else the request the key was first used with,
    OUT response jsonb          -- and its response
)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    user_lock record;
BEGIN
    SELECT *
    INTO user_lock
    FROM progress_lock_user(p_user, p_first_write => true);
    INSERT INTO idempotency_keys (principal, key, user_id, request_hash)
    VALUES (p_principal, p_key, p_user, p_request_hash)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        event_at := user_lock.event_at;
        release_tx := user_lock.release_tx;
        log_id := nextval('progress_log_id_seq');
        RETURN;
    END IF;
    SELECT k.request_hash, k.response
    INTO request_hash, response
    FROM idempotency_keys AS k
    WHERE k.principal = p_principal
      AND k.key = p_key
      AND k.response IS NOT NULL;
END
$$;

-- A goals write in one statement: the user's lock (their stream created for first goals), the goals as they are now,
-- the event (set, changed or cleared; p_clear) with the full resulting goals, and the projection. The stream moves to a
-- new version, the event's stream position, and a stored summary (it includes goal progress) goes stale. The caller
-- checks If-Match against the prior version afterwards; a refusal rolls everything back.
CREATE FUNCTION progress_write_goals(
    p_user text,
    p_clear boolean,
    p_data jsonb,
    p_actor text,
    p_request_id text,
    p_target_weight_kg double precision,
    p_target_date date,
    p_weekly_workouts integer,
    p_weekly_calories_burned double precision,
    OUT prior_version integer,     -- 0 when the user never had goals
    OUT prior_active boolean,      -- whether the user had goals before this write
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
    user_lock record;
    prior     record;
    new_position bigint;
    event_time   timestamptz;
BEGIN
    SELECT *
    INTO user_lock
    FROM progress_lock_user(p_user, p_first_write => true);
    SELECT coalesce(g.version, 0) AS version,
           g.target_weight_kg,
           g.target_weight_set_at,
           g.updated_at,
           coalesce(g.target_weight_kg IS NOT NULL
                    OR g.weekly_workouts IS NOT NULL
                    OR g.weekly_calories_burned IS NOT NULL, false) AS active
    INTO prior
    FROM (SELECT) AS one
    LEFT JOIN user_goals AS g ON g.user_id = p_user;
    -- Never earlier than the goals' previous event either (written before goal writes moved the stream's last_at).
    event_time := greatest(user_lock.event_at, prior.updated_at);
    UPDATE user_streams AS s
    SET version = nextval('user_stream_version_seq'),
        last_at = event_time
    WHERE s.user_id = p_user
    RETURNING s.version
    INTO new_position;
    INSERT INTO goal_events (user_id, version, event_type, data, actor, request_id, occurred_at, stream_position)
    VALUES (p_user,
            prior.version + 1,
            CASE WHEN p_clear THEN 'cleared' WHEN prior.active THEN 'changed' ELSE 'set' END,
            p_data,
            p_actor,
            p_request_id,
            event_time,
            new_position);
    INSERT INTO user_goals AS g (user_id, target_weight_kg, target_date, target_weight_set_at, weekly_workouts,
                                 weekly_calories_burned, version, updated_at)
    VALUES (p_user,
            p_target_weight_kg,
            p_target_date,
            -- The day the weight goal was set stays while its target does.
            CASE WHEN p_target_weight_kg IS NULL THEN NULL
                 WHEN prior.target_weight_kg = p_target_weight_kg THEN prior.target_weight_set_at
                 ELSE event_time END,
            p_weekly_workouts,
            p_weekly_calories_burned,
            prior.version + 1,
            event_time)
    ON CONFLICT (user_id) DO UPDATE
    SET target_weight_kg = EXCLUDED.target_weight_kg,
        target_date = EXCLUDED.target_date,
        target_weight_set_at = EXCLUDED.target_weight_set_at,
        weekly_workouts = EXCLUDED.weekly_workouts,
        weekly_calories_burned = EXCLUDED.weekly_calories_burned,
        version = EXCLUDED.version,
        updated_at = EXCLUDED.updated_at
    RETURNING g.user_id, g.target_weight_kg, g.target_date, g.target_weight_set_at, g.weekly_workouts,
              g.weekly_calories_burned, g.version, g.updated_at
    INTO user_id, target_weight_kg, target_date, target_weight_set_at, weekly_workouts, weekly_calories_burned,
         version, updated_at;
    prior_version := prior.version;
    prior_active := prior.active;
END
$$;

-- Migration 0013's delete-all, taking the one lock. Everything else as there: its delete, after the lock, sees every
-- write of the user that committed while the lock was awaited. No stream: the user has nothing, and nothing is
-- written.
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
        RETURNING log_id, version, date, weight_kg, workout_done, calories_burned, notes
    ),
    events AS (
        INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at,
                                     stream_position, release_tx)
        SELECT log_id,
               p_user,
               version + 1,
               'deleted',
               jsonb_build_object('date', date, 'weight_kg', weight_kg, 'workout_done', workout_done,
                                  'calories_burned', calories_burned, 'notes', notes),
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
