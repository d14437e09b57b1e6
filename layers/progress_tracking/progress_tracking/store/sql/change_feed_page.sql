-- A page of a user's change feed: their log and goals events after a stream position, in stream order, with the
-- token key and the stream's first position (which an erasure changes) on every row; one row with no event when none
-- follows. Positions are taken under the user's lock, held until commit, so per user they are commit order: what a
-- snapshot sees of one user's stream is a prefix of it, and an event that commits late has a position above every
-- one read before it (the relay needs release_tx and the horizon because it reads every user's events at once).
-- Each side is a range of its (user_id, stream_position) index; a log's created_at is its first event's time.
WITH stream AS (
    SELECT least((SELECT min(stream_position) FROM progress_events WHERE user_id = %(user_id)s),
                 (SELECT min(stream_position) FROM goal_events WHERE user_id = %(user_id)s)) AS first_position
)
SELECT k.key,
       s.first_position,
       c.stream_position,
       c.stream,
       c.event_type,
       c.log_id,
       c.version,
       c.data,
       c.occurred_at,
       c.created_at
FROM change_feed_key AS k
CROSS JOIN stream AS s
LEFT JOIN LATERAL (
    (SELECT e.stream_position,
            'log' AS stream,
            e.event_type,
            e.log_id,
            e.version,
            e.data,
            e.occurred_at,
            born.occurred_at AS created_at
     FROM progress_events AS e
     JOIN progress_events AS born
       ON born.log_id = e.log_id
      AND born.version = 1
     WHERE e.user_id = %(user_id)s
       AND e.stream_position > %(after)s
     ORDER BY e.stream_position
     LIMIT %(limit)s)
    UNION ALL
    (SELECT g.stream_position,
            'goals',
            g.event_type,
            NULL,
            g.version,
            g.data,
            g.occurred_at,
            NULL
     FROM goal_events AS g
     WHERE g.user_id = %(user_id)s
       AND g.stream_position > %(after)s
     ORDER BY g.stream_position
     LIMIT %(limit)s)
    ORDER BY stream_position
    LIMIT %(limit)s
) AS c ON true
ORDER BY c.stream_position
