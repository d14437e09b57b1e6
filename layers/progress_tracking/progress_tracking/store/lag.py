"""How far behind the two followers of the log are, in seconds: the outbox relay and the summary recompute. Every run
of each writes its lag as a metric (RelayLag, RecomputeLag), and the alarms watch it.

Both read what the follower has yet to do after its checkpoint, committed whether or not it is below the horizon yet:
a long transaction that holds the horizon back shows as lag growing, which is what the operator needs to see.
"""

from __future__ import annotations

from progress_tracking.db import Cursor, one_row
from progress_tracking.store.checkpoints import Checkpoint

# The relay publishes in (release_tx, stream position) order, which follows each user's commit order: the first
# committed event or tombstone after its checkpoint, in that order, is the oldest it has yet to publish. Two index
# probes, whatever the backlog.
RELAY_LAG = """
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
"""


def relay_seconds_behind(cursor: Cursor, checkpoint: Checkpoint) -> float:
    """The age of the oldest committed event the relay at `checkpoint` has not published; 0 when it has them all."""
    cursor.execute(RELAY_LAG, {"tx_id": str(checkpoint.tx_id), "position": checkpoint.position})
    return max(float(one_row(cursor)[0]), 0.0)


# The recompute follows the users' streams in (changed_tx, user_id) order. Among the next streams it will follow (a
# window's first 100: bounded work), a summary is stale when stored at an older version than the user's stream, or
# not stored at all; it has been stale since the user's first event (a log's or the goals') after that version. A
# user a reader brought up to date meanwhile is not stale (readers never serve a stale summary).
RECOMPUTE_LAG = """
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
"""


def recompute_seconds_behind(cursor: Cursor, checkpoint: Checkpoint) -> float:
    """The age of the oldest change no stored summary reflects, among the streams the recompute at `checkpoint` will
    follow next; 0 when none is stale."""
    cursor.execute(RECOMPUTE_LAG, {"tx_id": str(checkpoint.tx_id), "user_id": checkpoint.user_id})
    return max(float(one_row(cursor)[0]), 0.0)
