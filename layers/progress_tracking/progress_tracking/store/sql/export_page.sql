-- A page of a user's export, in one round trip: the items of the sections from `first` to `last` (0 the head, 1 the
-- logs, 2 the logs' events, 3 the goals' events), each section a keyset range of at most `limit` rows, the first
-- section continuing after the cursor's key. Everything is as it stood at one moment: the as_of asked for, or
-- this statement's time on the first page, which the cursor then carries so that every page shows the same moment.
-- A page costs at most 3 x limit rows of index ranges, whatever the history: an export is linear in the data.
-- The moment is written out in each section (statement_timestamp() is one value for the whole statement) rather
-- than joined from a CTE: a join makes the planner read a section's whole range and sort it, where a keyset range
-- under its LIMIT reads its index in order and stops.
SELECT section, date, key, item, coalesce(%(as_of)s::timestamptz, statement_timestamp()) AS as_of
FROM (
    -- The head: the goals as they stood, and the summary's facts (a JSON export of the present: the summary is not
    -- kept for past moments).
    SELECT 0 AS section,
           NULL::date AS date,
           NULL::bigint AS key,
           jsonb_build_object(
               'summary_facts',
               CASE
                   WHEN %(with_summary)s
                   THEN progress_summary_read(%(user_id)s, coalesce(%(as_of)s::timestamptz, statement_timestamp()))
               END,
               'goals',
               (SELECT CASE WHEN g.event_type <> 'cleared'
                            THEN g.data || jsonb_build_object('version', g.version, 'updated_at', g.occurred_at)
                       END
                FROM goal_events AS g
                WHERE g.user_id = %(user_id)s
                  AND g.occurred_at <= coalesce(%(as_of)s::timestamptz, statement_timestamp())
                ORDER BY g.version DESC
                LIMIT 1)
           ) AS item
    WHERE %(first)s = 0
    UNION ALL
    -- The logs that were live then, in the list's order: a keyset range of (user_id, date, log_id).
    (SELECT 1,
            v.date,
            v.log_id,
            jsonb_build_object(
                'log_id', v.log_id,
                'user_id', v.user_id,
                'date', v.date,
                'weight_kg', v.weight_kg,
                'workout_done', v.workout_done,
                'calories_burned', v.calories_burned,
                'notes', v.notes,
                'version', v.version,
                'created_at', v.created_at,
                'updated_at', v.valid_from,
                'weight_lb', v.weight_lb,
                'source', v.source,
                'device', v.device
            )
     FROM progress_log_versions AS v
     WHERE %(first)s <= 1 AND 1 <= %(last)s
       AND v.user_id = %(user_id)s
       AND v.valid_from <= coalesce(%(as_of)s::timestamptz, statement_timestamp())
       AND v.valid_to > coalesce(%(as_of)s::timestamptz, statement_timestamp())
       AND (%(first)s <> 1 OR %(after_date)s::date IS NULL OR (v.date, v.log_id) > (%(after_date)s, %(after_key)s))
     ORDER BY v.date, v.log_id
     LIMIT %(limit)s)
    UNION ALL
    -- Every event of every log, deleted logs included, in the user's stream order: a range of
    -- (user_id, stream_position). Positions are taken under the user's lock, so they follow the events' time.
    (SELECT 2,
            NULL,
            e.stream_position,
            jsonb_build_object(
                'position', e.stream_position,
                'log_id', e.log_id,
                'version', e.version,
                'type', e.event_type,
                'state', e.data,
                'actor', e.actor,
                'request_id', e.request_id,
                'occurred_at', e.occurred_at
            )
     FROM progress_events AS e
     WHERE %(first)s <= 2 AND 2 <= %(last)s
       AND e.user_id = %(user_id)s
       AND e.stream_position > CASE WHEN %(first)s = 2 THEN %(after_key)s ELSE 0 END
       AND e.occurred_at <= coalesce(%(as_of)s::timestamptz, statement_timestamp())
     ORDER BY e.stream_position
     LIMIT %(limit)s)
    UNION ALL
    -- The goals' events, in the same stream order.
    (SELECT 3,
            NULL,
            g.stream_position,
            jsonb_build_object(
                'position', g.stream_position,
                'version', g.version,
                'type', g.event_type,
                'state', g.data,
                'actor', g.actor,
                'request_id', g.request_id,
                'occurred_at', g.occurred_at
            )
     FROM goal_events AS g
     WHERE %(first)s <= 3 AND 3 <= %(last)s
       AND g.user_id = %(user_id)s
       AND g.stream_position > CASE WHEN %(first)s = 3 THEN %(after_key)s ELSE 0 END
       AND g.occurred_at <= coalesce(%(as_of)s::timestamptz, statement_timestamp())
     ORDER BY g.stream_position
     LIMIT %(limit)s)
) AS items
ORDER BY section, date, key
