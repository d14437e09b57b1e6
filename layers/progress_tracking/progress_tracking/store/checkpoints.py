"""Followers of the event log and of the users' streams: their checkpoints, and what comes after one, never skipped."""

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
class ChangedStreams:
    """The users whose streams moved after a checkpoint's transaction, below the horizon, each once; `end` is the
    checkpoint to resume after (the last transaction read) and `full` says more may follow."""

    users: list[str]
    end: Checkpoint | None  # None when no stream moved
    full: bool


# Streams moved by transactions after the checkpoint's and older than every transaction still running. As with the
# events: a transaction still running, or one that starts later, has an id at or above the horizon, above any `end`
# returned now, so the streams it moves are read by a later call. Up to `limit` streams in index order, plus the rest
# of the last transaction's: a window ends at a transaction's end, so no transaction is ever read in part.
_MOVED = "changed_tx > %(tx_id)s::text::xid8 AND changed_tx < pg_snapshot_xmin(pg_current_snapshot())"
CHANGED_STREAMS = (
    f"WITH last AS (SELECT changed_tx FROM user_streams WHERE {_MOVED}"
    "  ORDER BY changed_tx OFFSET %(limit)s - 1 LIMIT 1)"
    " SELECT coalesce(array_agg(user_id ORDER BY user_id), '{}'), max(changed_tx)::text::bigint,"
    "  EXISTS (SELECT FROM last)"
    f" FROM user_streams WHERE {_MOVED}"
    "  AND changed_tx <= coalesce((SELECT changed_tx FROM last), pg_snapshot_xmin(pg_current_snapshot()))"
)


def changed_streams(cursor: Cursor, checkpoint: Checkpoint, limit: int) -> ChangedStreams:
    """One statement, one snapshot: the horizon is the same in every part. The checkpoint's position is not used (a
    stream follower's checkpoints are whole transactions, position 0)."""
    cursor.execute(CHANGED_STREAMS, {"tx_id": str(checkpoint.tx_id), "limit": limit})
    row = cursor.fetchone()
    assert row is not None
    users, last_tx, full = row
    return ChangedStreams(users, Checkpoint(last_tx, 0) if last_tx is not None else None, full)
