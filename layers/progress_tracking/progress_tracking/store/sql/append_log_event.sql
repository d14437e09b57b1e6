-- One event of a log, sent with the COMMIT, under the user's lock (taken by the transaction's first statement, which
-- gave the time and the release_tx): the user's stream moves to a new version, which is the event's stream position
-- (so a user's positions are their commit order); the event; the log's state in time before it ends, and the new one
-- starts (a deletion starts none).
WITH stream AS (
    UPDATE user_streams
    SET version = nextval('user_stream_version_seq'),
        last_at = %(at)s,
        release_tx = %(release_tx)s::xid8
    WHERE user_id = %(user_id)s
    RETURNING version, release_tx
),
event AS (
    INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at,
                                 stream_position, release_tx)
    SELECT %(log_id)s, %(user_id)s, %(version)s, %(event_type)s, %(data)s, %(actor)s, %(request_id)s, %(at)s,
           stream.version, stream.release_tx
    FROM stream
),
ended AS (
    UPDATE progress_log_versions
    SET valid_to = %(at)s
    WHERE log_id = %(log_id)s
      AND valid_to = 'infinity'
)
INSERT INTO progress_log_versions (log_id, version, user_id, date, weight_kg, workout_done, calories_burned, notes,
                                   created_at, valid_from, valid_to, weight_lb, source, device)
SELECT %(log_id)s, %(version)s, %(user_id)s, %(date)s, %(weight_kg)s, %(workout_done)s, %(calories_burned)s,
       %(notes)s, %(created_at)s, %(at)s, 'infinity', %(weight_lb)s, %(source)s, %(device)s
WHERE %(event_type)s <> 'deleted'
