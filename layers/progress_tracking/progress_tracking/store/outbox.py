"""The outbox's SQL: erasure tombstones, the event log and the tombstones read merged in each user's order, and the
gates that keep an erased user's events from being published after the erasure (the relay's rules are in `outbox`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from progress_tracking.db import Cursor
from progress_tracking.store import checkpoints

# (class, hashtext(user_id)): two-key advisory locks, taken exclusively by an erasure and shared by the relay.
ERASURE_GATE_CLASS = 7_146_252

# The tombstone of an erasure, written in its transaction under the user's lock (held FOR UPDATE), after every event
# of the user: its stream position is the user's next, and its release_tx the lock's (migration 0014), so that it is
# published after every event of the user, and a stream the same id starts later goes on from it.
TOMBSTONE = """
INSERT INTO erasure_tombstones (user_id, stream_position, release_tx)
VALUES (%(user_id)s, nextval('user_stream_version_seq'), %(release_tx)s::xid8)
"""


def record_erasure(cursor: Cursor, user_id: str, erased: Mapping[str, int], release_tx: str) -> bool:
    """In the erasure's transaction, after its deletes: close the user's gate and leave a tombstone to publish
    (`release_tx`: the one the user's lock gave).

    Erasing a user of whom nothing was left (a repeated erasure, an unknown user) publishes nothing.
    """
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (ERASURE_GATE_CLASS, user_id))
    if not any(erased.values()):
        return False
    cursor.execute(TOMBSTONE, {"user_id": user_id, "release_tx": release_tx})
    return True


# The log's events and tombstones after a checkpoint, whose release_tx is below the horizon, each table read in the
# order of its (release_tx, stream_position) index and merged. Every ORDER BY names the tables' columns, never the
# output `release_tx::text::bigint`, which no index orders by: ordered by that, each batch sorted the rest of the log
# (515 ms a batch deep in a million events, not 1 ms).
AFTER = """
SELECT release_tx::text::bigint, stream_position, position, user_id, log_id, version, event_type, data, request_id,
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
"""


def rows_after(cursor: Cursor, checkpoint: checkpoints.Checkpoint, limit: int) -> list[tuple[Any, ...]]:
    """The next events and tombstones after `checkpoint` (a (release_tx, stream position) pair), released below the
    horizon, in that order."""
    cursor.execute(AFTER, {"tx_id": str(checkpoint.tx_id), "position": checkpoint.position, "limit": limit})
    return cursor.fetchall()


def erased_meanwhile(cursor: Cursor, events: list[tuple[str, int]]) -> set[int]:
    """Take the gates of these (user id, position) events' users, shared, until the transaction ends; then the
    positions among them that an erasure removed since they were read."""
    users = sorted({user_id for user_id, _ in events})
    if not users:
        return set()
    cursor.execute(
        "SELECT pg_advisory_xact_lock_shared(%s, hashtext(u)) FROM unnest(%s::text[]) AS u", (ERASURE_GATE_CLASS, users)
    )
    cursor.fetchall()
    positions = [position for _, position in events]
    cursor.execute("SELECT position FROM progress_events WHERE position = ANY(%s)", (positions,))
    return set(positions) - {row[0] for row in cursor.fetchall()}


# Tombstones every relay has passed: the outbox checkpoints are (release_tx, stream_position) pairs.
FORGET_PUBLISHED_TOMBSTONES = """
DELETE FROM erasure_tombstones
WHERE (release_tx, stream_position) <= (
    SELECT tx_id, position
    FROM projector_checkpoints
    WHERE name LIKE %s
    ORDER BY tx_id, position
    LIMIT 1
)
"""


def forget_published_tombstones(cursor: Cursor, checkpoint_prefix: str) -> None:
    """An erased user's id stays only until every relay has published their erasure."""
    cursor.execute(FORGET_PUBLISHED_TOMBSTONES, (checkpoint_prefix + "%",))
