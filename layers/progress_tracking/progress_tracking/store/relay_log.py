"""The outbox's SQL: erasure tombstones, the event log and the tombstones read merged in each user's order, and the
gates that keep an erased user's events from being published after the erasure (the relay's rules are in `outbox`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from progress_tracking.db import Cursor
from progress_tracking.store import checkpoints
from progress_tracking.store.statements import statement

# (class, hashtext(user_id)): two-key advisory locks, taken exclusively by an erasure and shared by the relay.
ERASURE_GATE_CLASS = 7_146_252


def record_erasure(cursor: Cursor, user_id: str, erased: Mapping[str, int], release_tx: str) -> bool:
    """In the erasure's transaction, after its deletes: close the user's gate and leave a tombstone to publish
    (`release_tx`: the one the user's lock gave).

    Erasing a user of whom nothing was left (a repeated erasure, an unknown user) publishes nothing.
    """
    cursor.execute(statement("close_erasure_gate"), {"gate_class": ERASURE_GATE_CLASS, "user_id": user_id})
    if not any(erased.values()):
        return False
    cursor.execute(statement("record_tombstone"), {"user_id": user_id, "release_tx": release_tx})
    return True


def rows_after(cursor: Cursor, checkpoint: checkpoints.Checkpoint, limit: int) -> list[tuple[Any, ...]]:
    """The next events and tombstones after `checkpoint` (a (release_tx, stream position) pair), released below the
    horizon, in that order."""
    cursor.execute(
        statement("relay_events_after"),
        {"tx_id": str(checkpoint.tx_id), "position": checkpoint.position, "limit": limit},
    )
    return cursor.fetchall()


def erased_meanwhile(cursor: Cursor, events: list[tuple[str, int]]) -> set[int]:
    """Take the gates of these (user id, position) events' users, shared, until the transaction ends; then the
    positions among them that an erasure removed since they were read."""
    users = sorted({user_id for user_id, _ in events})
    if not users:
        return set()
    cursor.execute(statement("open_erasure_gates"), {"gate_class": ERASURE_GATE_CLASS, "user_ids": users})
    cursor.fetchall()
    positions = [position for _, position in events]
    cursor.execute(statement("events_still_there"), {"positions": positions})
    return set(positions) - {row[0] for row in cursor.fetchall()}


def forget_published_tombstones(cursor: Cursor, checkpoint_prefix: str) -> None:
    """An erased user's id stays only until every relay has published their erasure."""
    cursor.execute(statement("forget_published_tombstones"), {"name_pattern": checkpoint_prefix + "%"})
