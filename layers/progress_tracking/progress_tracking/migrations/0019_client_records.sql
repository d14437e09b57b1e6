-- Client record ids (the Health Connect rule) and the versioned upsert that writes any number of a user's logs in one
-- statement: a batch of up to 500, or a single POST that carries a client record id.
--
-- A device names its records with its own id, unique per user and source (the log's `source` column of migration
-- 0018, the one value a log has: the record is keyed by it), and a version it raises on every edit.
-- The id is kept here, not on the log's projection: a deleted log's row leaves progress_logs, but its id must stay
-- reserved so that a late duplicate from the device (same or lower version) does not bring it back. Erasure deletes
-- these rows with the user's other data (store/sql/erase_user.sql). The events written by the upsert carry the id
-- and its version in their data too (beside the log's state, its source included), so the history shows them.
CREATE TABLE progress_client_records (
    user_id          text   NOT NULL,
    source           text   NOT NULL,
    client_record_id text   NOT NULL,
    log_id           bigint NOT NULL,
    client_version   bigint NOT NULL CHECK (client_version >= 0),
    CONSTRAINT progress_client_records_user_source_id_key PRIMARY KEY (user_id, source, client_record_id)
);

-- The upsert, after the user's lock (so its statements read the user's data as every earlier writer left it; the
-- snapshot rule of migration 0014). Each item of p_items is {"data": the log's state as a single POST's event records
-- it (appending.event_data: the mutable fields, weight_lb as entered, source, device and weight_unit),
-- "client_record_id", "client_version"} (both null for a plain new log). The record is keyed by the data's source.
-- An item's outcome:
--   created    no id, or an id never seen for (user, source): a new log, a `logged` event;
--   updated    an id on record for a live log and a higher version: the log's fields replaced, an `updated` event;
--   restored   an id on record for a deleted log and a higher version: the log back with the item's fields, a
--              `restored` event (as a rollback restores one);
--   unchanged  an id on record and an equal or lower version: nothing written, the log answered as it is (`deleted`
--              when it is a deleted one, whose id stays reserved).
-- An update or a restore replaces the log's state with the item's (its device too; its source is the record's).
-- Events take stream positions in the items' order, the stream moves once to the last, and the projections (with
-- their triggers, which keep the summaries' facts) are written set-based: the same rows the single writes write.
-- With an Idempotency-Key (p_key) the key is claimed first, under the lock; a key already used answers one row with
-- outcome `replayed` and the stored response (none: its key vanished while this waited, expired or erased). The
-- caller stores its response with the key, with the COMMIT. The caller refuses a batch naming one id twice.
CREATE FUNCTION progress_upsert_logs(
    p_user text,
    p_items jsonb,
    p_actor text,
    p_request_id text,
    p_principal text DEFAULT NULL,
    p_key text DEFAULT NULL,
    p_request_hash text DEFAULT NULL
)
    RETURNS TABLE (
        item_index   integer,
        outcome      text,
        log_id       bigint,
        version      integer,
        deleted      boolean,
        state        jsonb,
        created_at   timestamptz,
        updated_at   timestamptz,
        request_hash text,
        response     jsonb
    )
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    user_lock record;
BEGIN
    SELECT *
    INTO user_lock
    FROM progress_lock_user(p_user, p_first_write => true);
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (principal, key, user_id, request_hash)
        VALUES (p_principal, p_key, p_user, p_request_hash)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY
            SELECT NULL::integer, 'replayed', NULL::bigint, NULL::integer, NULL::boolean, NULL::jsonb,
                   NULL::timestamptz, NULL::timestamptz, k.request_hash, k.response
            FROM (SELECT) AS one
            LEFT JOIN idempotency_keys AS k
                ON k.principal = p_principal
               AND k.key = p_key
               AND k.response IS NOT NULL;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
    WITH item AS (
        SELECT (i.ordinality - 1)::integer AS item_index,
               i.value -> 'data' AS data,
               i.value -> 'data' ->> 'source' AS source,
               i.value ->> 'client_record_id' AS client_record_id,
               (i.value ->> 'client_version')::bigint AS client_version
        FROM jsonb_array_elements(p_items) WITH ORDINALITY AS i
    ),
    -- The items whose id is on record, with their log as it is: live (progress_logs) or deleted (its last event).
    known AS (
        SELECT item.item_index,
               r.log_id,
               r.client_version AS stored_version,
               l.log_id IS NULL AS is_deleted,
               coalesce(l.version, last_event.version) AS current_version,
               coalesce(l.created_at, first_event.occurred_at) AS born,
               coalesce(l.updated_at, last_event.occurred_at) AS last_changed,
               CASE WHEN l.log_id IS NULL THEN last_event.data
                    ELSE jsonb_build_object('date', l.date, 'weight_kg', l.weight_kg, 'workout_done', l.workout_done,
                                            'calories_burned', l.calories_burned, 'notes', l.notes,
                                            'weight_lb', l.weight_lb, 'source', l.source, 'device', l.device,
                                            'weight_unit', CASE WHEN l.weight_lb IS NOT NULL THEN 'lb'
                                                                WHEN l.weight_kg IS NOT NULL THEN 'kg' END)
               END AS current_state
        FROM item
        JOIN progress_client_records AS r
            ON r.user_id = p_user
           AND r.source = item.source
           AND r.client_record_id = item.client_record_id
        LEFT JOIN progress_logs AS l
            ON l.log_id = r.log_id
        LEFT JOIN LATERAL (
            SELECT e.version, e.data, e.occurred_at
            FROM progress_events AS e
            WHERE e.log_id = r.log_id
            ORDER BY e.version DESC
            LIMIT 1
        ) AS last_event ON l.log_id IS NULL
        LEFT JOIN LATERAL (
            SELECT e.occurred_at
            FROM progress_events AS e
            WHERE e.log_id = r.log_id
            ORDER BY e.version
            LIMIT 1
        ) AS first_event ON l.log_id IS NULL
    ),
    decided AS (
        SELECT item.*,
               known.is_deleted,
               known.current_version,
               known.born,
               known.last_changed,
               known.current_state,
               CASE WHEN known.log_id IS NULL THEN 'created'
                    WHEN item.client_version <= known.stored_version THEN 'unchanged'
                    WHEN known.is_deleted THEN 'restored'
                    ELSE 'updated'
               END AS outcome,
               coalesce(known.log_id, nextval('progress_log_id_seq')) AS log_id
        FROM item
        LEFT JOIN known USING (item_index)
    ),
    -- What is written, in the items' order (their stream positions follow it).
    written AS (
        SELECT w.*,
               nextval('user_stream_version_seq') AS stream_position
        FROM (
            SELECT d.item_index,
                   d.outcome,
                   d.log_id,
                   d.data,
                   d.source,
                   d.client_record_id,
                   d.client_version,
                   CASE WHEN d.outcome = 'created' THEN 1 ELSE d.current_version + 1 END AS version,
                   CASE WHEN d.outcome = 'created' THEN user_lock.event_at ELSE d.born END AS created_at,
                   d.outcome IN ('updated', 'restored') AS replaces
            FROM decided AS d
            WHERE d.outcome <> 'unchanged'
            ORDER BY d.item_index
        ) AS w
    ),
    events AS (
        INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at,
                                     stream_position, release_tx)
        SELECT w.log_id,
               p_user,
               w.version,
               CASE w.outcome WHEN 'created' THEN 'logged' ELSE w.outcome END,
               CASE WHEN w.client_record_id IS NULL THEN w.data
                    ELSE w.data || jsonb_build_object('client_record_id', w.client_record_id,
                                                      'client_version', w.client_version)
               END,
               p_actor,
               p_request_id,
               user_lock.event_at,
               w.stream_position,
               user_lock.release_tx
        FROM written AS w
        RETURNING stream_position
    ),
    stream AS (
        UPDATE user_streams
        SET version = moved.latest,
            last_at = user_lock.event_at,
            release_tx = user_lock.release_tx
        FROM (SELECT max(stream_position) AS latest, count(*) AS events FROM events) AS moved
        WHERE user_streams.user_id = p_user
          AND moved.events > 0
    ),
    ended AS (
        UPDATE progress_log_versions AS v
        SET valid_to = user_lock.event_at
        FROM written AS w
        WHERE w.replaces
          AND v.log_id = w.log_id
          AND v.valid_to = 'infinity'
    ),
    states AS (
        INSERT INTO progress_log_versions (log_id, version, user_id, date, weight_kg, workout_done, calories_burned,
                                           notes, created_at, valid_from, valid_to, weight_lb, source, device)
        SELECT w.log_id, w.version, p_user, (w.data ->> 'date')::date, (w.data ->> 'weight_kg')::float8,
               w.data ->> 'workout_done', (w.data ->> 'calories_burned')::float8, w.data ->> 'notes', w.created_at,
               user_lock.event_at, 'infinity', (w.data ->> 'weight_lb')::numeric, w.source, w.data ->> 'device'
        FROM written AS w
    ),
    projected AS (
        INSERT INTO progress_logs (log_id, user_id, date, weight_kg, workout_done, calories_burned, notes, version,
                                   created_at, updated_at, weight_lb, source, device)
        SELECT w.log_id, p_user, (w.data ->> 'date')::date, (w.data ->> 'weight_kg')::float8,
               w.data ->> 'workout_done', (w.data ->> 'calories_burned')::float8, w.data ->> 'notes', w.version,
               w.created_at, user_lock.event_at, (w.data ->> 'weight_lb')::numeric, w.source, w.data ->> 'device'
        FROM written AS w
        ON CONFLICT (log_id) DO UPDATE
        SET date = EXCLUDED.date,
            weight_kg = EXCLUDED.weight_kg,
            workout_done = EXCLUDED.workout_done,
            calories_burned = EXCLUDED.calories_burned,
            notes = EXCLUDED.notes,
            weight_lb = EXCLUDED.weight_lb,
            source = EXCLUDED.source,
            device = EXCLUDED.device,
            version = EXCLUDED.version,
            updated_at = EXCLUDED.updated_at
    ),
    recorded AS (
        INSERT INTO progress_client_records AS r (user_id, source, client_record_id, log_id, client_version)
        SELECT p_user, w.source, w.client_record_id, w.log_id, w.client_version
        FROM written AS w
        WHERE w.client_record_id IS NOT NULL
        ON CONFLICT (user_id, source, client_record_id) DO UPDATE
        SET client_version = EXCLUDED.client_version
    )
    SELECT d.item_index,
           d.outcome,
           d.log_id,
           coalesce(w.version, d.current_version),
           d.outcome = 'unchanged' AND d.is_deleted,
           CASE WHEN d.outcome = 'unchanged' THEN d.current_state ELSE d.data END,
           coalesce(w.created_at, d.born),
           CASE WHEN d.outcome = 'unchanged' THEN d.last_changed ELSE user_lock.event_at END,
           NULL::text,
           NULL::jsonb
    FROM decided AS d
    LEFT JOIN written AS w USING (item_index)
    ORDER BY d.item_index;
END
$$;
