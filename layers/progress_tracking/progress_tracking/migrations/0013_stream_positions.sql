-- Each user's events in commit order, and a delete-all that is one set-based statement.
--
-- Stream positions. Every event (a log's, a goals', an erasure's tombstone) carries its user's stream position: a
-- number from the one sequence the users' stream versions come from, taken under the user's lock by the statement
-- that moves the stream (the stream's version is its latest event's position). Every write holds the lock until it
-- commits, so per user the positions are commit order, erasures included, and never repeat. (Transaction ids are not
-- commit order: a transaction takes its id before it waits for the user's lock, and the relay ordered by them.)
--
-- The relay's order. An event also carries `release_tx`: the greatest transaction id among its own and every earlier
-- event of its user (the stream remembers the latest; a stream that starts after an erasure goes on from the erasure's
-- tombstone). The relay reads events and tombstones in (release_tx, stream_position) order, only those whose
-- release_tx is below the server's horizon, and its checkpoint is that pair: per user release_tx never decreases
-- along the positions, so a user's events leave in stream order, within and across batches; an event is held back
-- while an earlier one of its user is committed but not yet below the horizon (its release_tx is at least that
-- one's transaction); and nothing is skipped (an event that commits later has a release_tx at or above the horizon
-- its readers saw, above every checkpoint taken so far).
--
-- Events written before this migration get positions in the order the relay published them, (tx_id, position),
-- goals' events merged in by their transaction ids; their release_tx is their tx_id, and the relays' checkpoints
-- are carried over to the same place. Writers wait for this migration (it rewrites the event tables).
ALTER TABLE progress_events
    ADD COLUMN stream_position bigint,
    ADD COLUMN release_tx xid8;
ALTER TABLE erasure_tombstones
    ADD COLUMN stream_position bigint,
    ADD COLUMN release_tx xid8;
ALTER TABLE goal_events
    ADD COLUMN stream_position bigint;
ALTER TABLE user_streams
    ADD COLUMN release_tx xid8;

CREATE TEMPORARY TABLE earlier_positions ON COMMIT DROP AS
SELECT kind,
       position,
       row_number() OVER (ORDER BY tx_id, kind, position) AS stream_position
FROM (
    SELECT 'event' AS kind, tx_id, position FROM progress_events
    UNION ALL
    SELECT 'erased', tx_id, position FROM erasure_tombstones
    UNION ALL
    SELECT 'goals', tx_id, position FROM goal_events
) AS earlier;
CREATE INDEX ON earlier_positions (kind, position);

UPDATE progress_events AS e
SET stream_position = p.stream_position,
    release_tx = e.tx_id
FROM earlier_positions AS p
WHERE p.kind = 'event'
  AND p.position = e.position;
UPDATE erasure_tombstones AS t
SET stream_position = p.stream_position,
    release_tx = t.tx_id
FROM earlier_positions AS p
WHERE p.kind = 'erased'
  AND p.position = t.position;
UPDATE goal_events AS g
SET stream_position = p.stream_position
FROM earlier_positions AS p
WHERE p.kind = 'goals'
  AND p.position = g.position;

-- A relay's place (tx_id, position) becomes (tx_id, the stream position of the last row at or before it): the same
-- rows are before it.
UPDATE projector_checkpoints AS c
SET position = coalesce((
    SELECT max(p.stream_position)
    FROM earlier_positions AS p
    JOIN (SELECT tx_id, position FROM progress_events
          UNION ALL
          SELECT tx_id, position FROM erasure_tombstones) AS r
      ON r.position = p.position AND p.kind <> 'goals'
    WHERE (r.tx_id, r.position) <= (c.tx_id, c.position)
), 0)
WHERE c.name LIKE 'outbox%'
  AND c.user_id = '';

UPDATE user_streams AS s
SET release_tx = e.release_tx
FROM (SELECT user_id, max(release_tx) AS release_tx FROM progress_events GROUP BY user_id) AS e
WHERE e.user_id = s.user_id;

-- New positions come after every position given above, and after every stream version.
SELECT setval('user_stream_version_seq',
              greatest((SELECT last_value FROM user_stream_version_seq), (SELECT count(*) FROM earlier_positions), 1));

-- The defaults serve the code of the release before, still running while a deploy goes on: its inserts take a
-- position under the user's lock (it holds the lock as this release does) and order by their own transaction.
ALTER TABLE progress_events
    ALTER COLUMN stream_position SET DEFAULT nextval('user_stream_version_seq'),
    ALTER COLUMN stream_position SET NOT NULL,
    ALTER COLUMN release_tx SET DEFAULT pg_current_xact_id(),
    ALTER COLUMN release_tx SET NOT NULL;
ALTER TABLE erasure_tombstones
    ALTER COLUMN stream_position SET DEFAULT nextval('user_stream_version_seq'),
    ALTER COLUMN stream_position SET NOT NULL,
    ALTER COLUMN release_tx SET DEFAULT pg_current_xact_id(),
    ALTER COLUMN release_tx SET NOT NULL;
ALTER TABLE goal_events
    ALTER COLUMN stream_position SET DEFAULT nextval('user_stream_version_seq'),
    ALTER COLUMN stream_position SET NOT NULL;

-- A user's events by stream position (for a change feed per user, and the erasure's delete by user), in place of
-- (user_id, position); the relay's order in place of (tx_id, position), which nothing reads any more.
DROP INDEX progress_events_user_idx;
CREATE UNIQUE INDEX progress_events_user_stream_idx ON progress_events (user_id, stream_position);
DROP INDEX progress_events_tx_idx;
CREATE INDEX progress_events_release_idx ON progress_events (release_tx, stream_position);
DROP INDEX erasure_tombstones_tx_idx;
CREATE INDEX erasure_tombstones_release_idx ON erasure_tombstones (release_tx, stream_position);
CREATE INDEX erasure_tombstones_user_idx ON erasure_tombstones (user_id);
CREATE UNIQUE INDEX goal_events_user_stream_idx ON goal_events (user_id, stream_position);

-- Deleting every live log of a user (recoverably: a deletion event each), set-based, in one statement from the client:
-- with the statement that ends the logs' states in time (store.appending.END_OPEN_STATES, sent with the COMMIT), two
-- round trips. The statement limit holds per statement, and each of the two does about half of the work: for a user
-- with 100,000 logs, each stays under a request's 2 s.
--
-- A plpgsql function because each statement of a volatile function takes a new snapshot: the delete, which follows
-- the lock, sees every write of the user that committed while the lock was awaited, so every live log is deleted and
-- counted (one statement that both locked and deleted would miss a log written meanwhile). No stream: the user has
-- nothing (never logged, or erased), and nothing is written. The event data is the log's fields, as
-- store.columns.event_data writes them; `deleted_at` is the time the events carry (the database's once the lock is
-- held, never earlier than the stream's latest event).
CREATE FUNCTION progress_delete_all_logs(p_user text, p_actor text, p_request_id text,
                                         OUT deleted_logs bigint, OUT deleted_at timestamptz)
    LANGUAGE plpgsql AS $$
DECLARE
    stream   record;
    released xid8;
BEGIN
    deleted_logs := 0;
    SELECT last_at, release_tx INTO stream
    FROM user_streams
    WHERE user_id = p_user
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    deleted_at := greatest(clock_timestamp(), stream.last_at);
    released := greatest(pg_current_xact_id(),
                         coalesce(stream.release_tx,
                                  (SELECT max(release_tx) FROM erasure_tombstones WHERE user_id = p_user)));
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
               released
        FROM gone
        RETURNING stream_position
    )
    UPDATE user_streams
    SET version = moved.latest,
        last_at = deleted_at,
        release_tx = released
    FROM (SELECT max(stream_position) AS latest, count(*) AS events FROM events) AS moved
    WHERE user_id = p_user
      AND moved.events > 0
    RETURNING moved.events INTO deleted_logs;
    deleted_logs := coalesce(deleted_logs, 0);
END
$$;

-- A user left without logs (a delete-all, an erasure) loses every fact kept from them at once, instead of each month
-- and week being computed again from nothing (100,000 logs: ~350 ms of the delete-all). Everything else as in 0011.
CREATE OR REPLACE FUNCTION progress_logs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    emptied text[];
BEGIN
    IF current_setting('progress_tracking.rebuilding', TRUE) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM progress_log_facts_changed(array_agg(user_id), array_agg(date),
            array_agg(progress_workout_kind(workout_done)), array_agg(1)) FROM new_logs HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(gone.user_id) INTO emptied
        FROM (SELECT DISTINCT user_id FROM old_logs) AS gone
        WHERE NOT EXISTS (SELECT FROM progress_logs AS l WHERE l.user_id = gone.user_id);
        IF emptied IS NOT NULL THEN
            DELETE FROM progress_log_months WHERE user_id = ANY(emptied);
            DELETE FROM progress_log_weeks WHERE user_id = ANY(emptied);
            DELETE FROM progress_log_week_runs WHERE user_id = ANY(emptied);
            DELETE FROM progress_workout_counts WHERE user_id = ANY(emptied);
        END IF;
        PERFORM progress_log_facts_changed(array_agg(user_id), array_agg(date),
            array_agg(progress_workout_kind(workout_done)), array_agg(-1))
        FROM old_logs
        WHERE user_id <> ALL(coalesce(emptied, '{}'))
        HAVING count(*) > 0;
    ELSE
        PERFORM progress_log_facts_changed(array_agg(user_id), array_agg(date),
            array_agg(progress_workout_kind(workout_done)), array_agg(sign))
        FROM (SELECT user_id, date, workout_done, 1 AS sign FROM new_logs
              UNION ALL SELECT user_id, date, workout_done, -1 FROM old_logs) AS changed HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;
