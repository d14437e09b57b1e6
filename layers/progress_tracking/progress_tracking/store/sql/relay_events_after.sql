-- The event log's events and the erasure tombstones after a relay's checkpoint, each released below the horizon
-- (every transaction up to its release_tx has ended), each table read in the order of its (release_tx,
-- stream_position) index, merged. Every ORDER BY names the tables' columns, never the output
-- `release_tx::text::bigint`, which no index orders by: ordered by that, each batch sorted the rest of the log (515 ms a
-- batch deep in a million events, not 1 ms).
SELECT release_tx::text::bigint,
       stream_position,
       position,
       user_id,
       log_id,
       version,
       event_type,
       data,
       request_id,
       occurred_at
FROM (
    (SELECT release_tx, stream_position, position, user_id, log_id, version, event_type, data, request_id,
            occurred_at
     FROM progress_events
     WHERE (release_tx, stream_position) > (%(tx_id)s::text::xid8, %(position)s)
       AND release_tx < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY release_tx, stream_position
     LIMIT %(limit)s)
    UNION ALL
    (SELECT release_tx, stream_position, position, user_id, NULL::bigint, NULL::integer, 'erased', NULL::jsonb,
            NULL::text, occurred_at
     FROM erasure_tombstones
     WHERE (release_tx, stream_position) > (%(tx_id)s::text::xid8, %(position)s)
       AND release_tx < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY release_tx, stream_position
     LIMIT %(limit)s)
) AS log
ORDER BY log.release_tx, log.stream_position
LIMIT %(limit)s
