-- How long the oldest change no stored summary reflects has waited for the recompute (0: none). The recompute follows
-- the users' streams in (changed_tx, user_id) order. Among the next streams it will follow (a window's first 100:
-- bounded work), a summary is stale when stored at an older version than the user's stream, or not stored at all; it
-- has been stale since the user's first event (a log's or the goals') after that version. A user a reader brought up
-- to date meanwhile is not stale (readers never serve a stale summary).
SELECT coalesce(extract(epoch FROM clock_timestamp() - min(first_unreflected.occurred_at))::float8, 0)
FROM (
    SELECT s.user_id, coalesce(p.stream_version, 0) AS reflected
    FROM user_streams AS s
    LEFT JOIN progress_summaries AS p ON p.user_id = s.user_id
    WHERE (s.changed_tx, s.user_id) > (%(tx_id)s::text::xid8, %(user_id)s)
      AND p.stream_version IS DISTINCT FROM s.version
    ORDER BY s.changed_tx, s.user_id
    LIMIT 100
) AS stale
CROSS JOIN LATERAL (
    SELECT least(
        (SELECT e.occurred_at
         FROM progress_events AS e
         WHERE e.user_id = stale.user_id AND e.stream_position > stale.reflected
         ORDER BY e.stream_position
         LIMIT 1),
        (SELECT g.occurred_at
         FROM goal_events AS g
         WHERE g.user_id = stale.user_id AND g.stream_position > stale.reflected
         ORDER BY g.stream_position
         LIMIT 1)
    ) AS occurred_at
) AS first_unreflected
