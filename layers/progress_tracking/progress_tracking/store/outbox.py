"""The outbox's SQL: erasure tombstones, the event log and the tombstones read merged in order, and the gates that
keep an erased user's events from being published after the erasure (the relay's rules are in `outbox`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from progress_tracking.db import Cursor
from progress_tracking.store import checkpoints

# (class, hashtext(user_id)): two-key advisory locks, taken exclusively by an erasure and shared by the relay.
ERASURE_GATE_CLASS = 7_146_252


def record_erasure(cursor: Cursor, user_id: str, erased: Mapping[str, int]) -> bool:
    """In the erasure's transaction, after its deletes: close the user's gate and leave a tombstone to publish.

    Erasing a user of whom nothing was left (a repeated erasure, an unknown user) publishes nothing.
    """
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (ERASURE_GATE_CLASS, user_id))
    if not any(erased.values()):
        return False
    cursor.execute("INSERT INTO erasure_tombstones (user_id) VALUES (%s)", (user_id,))
    return True


# The log's rows after a checkpoint, below the horizon, each table read in the order of its (tx_id, position) index
# and merged. Every ORDER BY names the tables' columns, never the output `tx_id::text::bigint`, which no index orders
# by: ordered by that, each batch sorted the rest of the log (515 ms a batch deep in a million events, not 1 ms).
_AFTER = (
    "SELECT tx_id::text::bigint, position, user_id, log_id, version, event_type, data, request_id, occurred_at FROM ("
    " (SELECT tx_id, position, user_id, log_id, version, event_type, data, request_id, occurred_at"
    "  FROM progress_events WHERE (tx_id, position) > (%(tx_id)s::text::xid8, %(position)s)"
    "  AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx_id, position LIMIT %(limit)s)"
    " UNION ALL"
    " (SELECT tx_id, position, user_id, NULL::bigint, NULL::integer, 'erased', NULL::jsonb, NULL::text, occurred_at"
    "  FROM erasure_tombstones WHERE (tx_id, position) > (%(tx_id)s::text::xid8, %(position)s)"
    "  AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx_id, position LIMIT %(limit)s)"
    ") AS log ORDER BY log.tx_id, log.position LIMIT %(limit)s"
)


def rows_after(cursor: Cursor, checkpoint: checkpoints.Checkpoint, limit: int) -> list[tuple[Any, ...]]:
    """The next events and tombstones after `checkpoint`, below the horizon, in (transaction id, position) order."""
    cursor.execute(_AFTER, {"tx_id": str(checkpoint.tx_id), "position": checkpoint.position, "limit": limit})
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


def forget_published_tombstones(cursor: Cursor, checkpoint_prefix: str) -> None:
    """An erased user's id stays only until every relay has published their erasure."""
    cursor.execute(
        "DELETE FROM erasure_tombstones WHERE (tx_id, position) <= (SELECT tx_id, position FROM projector_checkpoints"
        " WHERE name LIKE %s ORDER BY tx_id, position LIMIT 1)",
        (checkpoint_prefix + "%",),
    )
