-- Streams moved by transactions older than every transaction still running, after the checkpoint, in the order of
-- `user_streams_changed_tx_idx`. As with the events: a transaction still running, or one that starts later, has an id
-- at or above the horizon, above any checkpoint taken now, so the streams it moves are read by a later call (a stream
-- only gets the id of the transaction moving it, while it runs). A transaction's streams may span windows: once it is
-- below the horizon, no stream can be moved by it any more. One row at least: the horizon's (with no stream when none
-- moved).
SELECT h.horizon::text::bigint,
       s.user_id,
       s.changed_tx::text::bigint
FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) AS h
LEFT JOIN LATERAL (
    SELECT s.user_id, s.changed_tx
    FROM user_streams AS s
    WHERE (s.changed_tx, s.user_id) > (%(tx_id)s::text::xid8, %(user_id)s)
      AND s.changed_tx < h.horizon
    ORDER BY s.changed_tx, s.user_id
    LIMIT %(limit)s
) AS s ON TRUE
