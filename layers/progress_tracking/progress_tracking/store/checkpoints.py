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
    cursor.execute(
        "INSERT INTO projector_checkpoints (name, tx_id, position, updated_at) VALUES (%s, %s::text::xid8, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position,"
        "  updated_at = EXCLUDED.updated_at",
        (name, str(checkpoint.tx_id), checkpoint.position, at),
    )


def events_after(cursor: Cursor, checkpoint: Checkpoint, limit: int) -> list[tuple[Checkpoint, str]]:
    """The next events after `checkpoint` in (transaction id, position) order, as (checkpoint, user_id) pairs.

    Only events of transactions older than every transaction still running are read: any event committed later
    belongs to a transaction at or above that horizon, so it sorts after everything returned here and can never
    be skipped, although positions are handed out before commit.
    """
    cursor.execute(
        "SELECT tx_id::text::bigint, position, user_id FROM progress_events"
        " WHERE (tx_id, position) > (%s::text::xid8, %s) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())"
        " ORDER BY tx_id, position LIMIT %s",
        (str(checkpoint.tx_id), checkpoint.position, limit),
    )
    return [(Checkpoint(tx_id, position), user_id) for tx_id, position, user_id in cursor.fetchall()]
