"""Followers of the event log: their checkpoints, and the events after one that can never be skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from progress_tracking.db import Cursor


@dataclass(frozen=True, order=True)
class Checkpoint:
    tx_id: int
    position: int


START = Checkpoint(0, 0)


def read_checkpoint(cursor: Cursor, name: str) -> Checkpoint:
    cursor.execute("SELECT tx_id::text::bigint, position FROM projector_checkpoints WHERE name = %s", (name,))
    row = cursor.fetchone()
    return Checkpoint(*row) if row else START


def save_checkpoint(cursor: Cursor, name: str, checkpoint: Checkpoint, at: datetime) -> None:
    """Move the follower's checkpoint forward (never back: two overlapping runs may save in either order)."""
    cursor.execute(
        "INSERT INTO projector_checkpoints (name, tx_id, position, updated_at) VALUES (%s, %s::text::xid8, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position,"
        "  updated_at = EXCLUDED.updated_at"
        " WHERE (projector_checkpoints.tx_id, projector_checkpoints.position) < (EXCLUDED.tx_id, EXCLUDED.position)",
        (name, str(checkpoint.tx_id), checkpoint.position, at),
    )


# The events after a checkpoint, below the horizon, in the order of `progress_events_tx_idx`. The ORDER BY names the
# table's columns (`e.tx_id`), not the output column `tx_id::text::bigint`, which no index orders by: binding to the
# output made every batch sort the rest of the log (515 ms a batch deep in a million events instead of 1 ms).
EVENTS_AFTER = (
    "SELECT e.tx_id::text::bigint AS tx, e.position, e.user_id FROM progress_events AS e"
    " WHERE (e.tx_id, e.position) > (%(tx_id)s::text::xid8, %(position)s)"
    " AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY e.tx_id, e.position LIMIT %(limit)s"
)


def events_after(cursor: Cursor, checkpoint: Checkpoint, limit: int) -> list[tuple[Checkpoint, str]]:
    """The next events after `checkpoint` in (transaction id, position) order, as (checkpoint, user_id) pairs.

    Only events of transactions older than every transaction still running are read: any event committed later
    belongs to a transaction at or above that horizon, so it sorts after everything returned here and can never
    be skipped, although positions are handed out before commit.
    """
    cursor.execute(EVENTS_AFTER, {"tx_id": str(checkpoint.tx_id), "position": checkpoint.position, "limit": limit})
    return [(Checkpoint(tx_id, position), user_id) for tx_id, position, user_id in cursor.fetchall()]


@dataclass(frozen=True)
class Window:
    """Up to `limit` events after a checkpoint (the same order and horizon as `events_after`): how many, the last
    one's checkpoint, and their users, each once."""

    events: int
    end: Checkpoint | None  # None when there were none
    users: list[str]


# A window in one statement and one pass over the log: its events grouped by user as they are read (nothing converted
# per event), and its last event found by one index probe: the last below the horizon when the window is not full,
# else the limit-th. One statement, one snapshot: the horizon is the same in every part.
_SCOPE = (
    "(e.tx_id, e.position) > (%(tx_id)s::text::xid8, %(position)s)"
    " AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())"
)
_LAST = "SELECT array[e.tx_id::text::bigint, e.position] FROM progress_events AS e WHERE " + _SCOPE
WINDOW = (
    "WITH users AS (SELECT user_id, count(*) AS n FROM (SELECT e.user_id FROM progress_events AS e"
    f"  WHERE {_SCOPE} ORDER BY e.tx_id, e.position LIMIT %(limit)s) AS w GROUP BY user_id),"
    " size AS (SELECT coalesce(sum(n), 0)::bigint AS events FROM users)"
    " SELECT (SELECT events FROM size),"
    "  CASE WHEN (SELECT events FROM size) = 0 THEN NULL"
    f"   WHEN (SELECT events FROM size) < %(limit)s THEN ({_LAST} ORDER BY e.tx_id DESC, e.position DESC LIMIT 1)"
    f"   ELSE ({_LAST} ORDER BY e.tx_id, e.position OFFSET %(limit)s - 1 LIMIT 1) END,"
    "  (SELECT coalesce(array_agg(user_id ORDER BY user_id), '{}') FROM users)"
)


def window_after(cursor: Cursor, checkpoint: Checkpoint, limit: int) -> Window:
    cursor.execute(WINDOW, {"tx_id": str(checkpoint.tx_id), "position": checkpoint.position, "limit": limit})
    row = cursor.fetchone()
    assert row is not None
    events, end, users = row
    return Window(events, Checkpoint(*end) if end else None, users)
