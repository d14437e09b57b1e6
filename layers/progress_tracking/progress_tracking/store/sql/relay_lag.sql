-- How long the oldest committed event or tombstone the relay has not published has waited (0: none). The relay
-- publishes in (release_tx, stream position) order, which follows each user's commit order: the first one after its
-- checkpoint, in that order, is the oldest it has yet to publish. Two index probes, whatever the backlog; committed
-- whether or not it is below the horizon yet, so a long transaction holding the horizon back shows as lag.
SELECT coalesce(extract(epoch FROM clock_timestamp() - min(occurred_at))::float8, 0)
FROM (
    (SELECT occurred_at
     FROM progress_events
     WHERE (release_tx, stream_position) > (%(tx_id)s::text::xid8, %(position)s)
     ORDER BY release_tx, stream_position
     LIMIT 1)
    UNION ALL
    (SELECT occurred_at
     FROM erasure_tombstones
     WHERE (release_tx, stream_position) > (%(tx_id)s::text::xid8, %(position)s)
     ORDER BY release_tx, stream_position
     LIMIT 1)
) AS next_to_publish
