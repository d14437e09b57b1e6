"""Followers of the event log and of the users' streams: their checkpoints, and what comes after one, never skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from progress_tracking.db import Cursor
from progress_tracking.store.statements import statement


@dataclass(frozen=True, order=True)
class Checkpoint:
    """Where a follower has got to: the last (release_tx, stream position) of the event log it read (the relay,
    migration 0013), or, following the users' streams, the last (transaction id, user id) (position 0)."""

    tx_id: int
    position: int
    user_id: str = ""


START = Checkpoint(0, 0)


def read_checkpoint(cursor: Cursor, name: str) -> Checkpoint:
    cursor.execute(statement("read_checkpoint"), {"name": name})
    row = cursor.fetchone()
    return Checkpoint(*row) if row else START


def save_checkpoint(cursor: Cursor, name: str, checkpoint: Checkpoint, at: datetime) -> None:
    """Move the follower's checkpoint forward (never back: two overlapping runs may save in either order).

    A place among the users' streams names a user only while their stream exists, and takes its row's key-share lock
    to know: an erasure (which locks the row to delete it, and then takes the user's name out of every checkpoint)
    either comes after and finds this one, or came before and this one names nobody (its transaction's streams are
    read again, from the first)."""
    cursor.execute(
        statement("save_checkpoint"),
        {
            "name": name,
            "tx_id": str(checkpoint.tx_id),
            "position": checkpoint.position,
            "user_id": checkpoint.user_id,
            "at": at,
        },
    )


def forget_user(cursor: Cursor, user_id: str) -> None:
    """Take an erased user's name out of the checkpoints that stopped at their stream: the place moves back to the
    start of that transaction's streams, which the follower reads again (each user recomputed at most once more)."""
    cursor.execute(statement("forget_user_in_checkpoints"), {"user_id": user_id})


@dataclass(frozen=True)
class ChangedStreams:
    """Up to `limit` users whose streams moved after a checkpoint, below the horizon, each once (sorted); `end` is the
    checkpoint to resume after and `full` says more may follow."""

    users: list[str]
    end: Checkpoint
    full: bool


def changed_streams(cursor: Cursor, checkpoint: Checkpoint, limit: int) -> ChangedStreams:
    """A window that holds every moved stream below the horizon ends at the horizon itself, naming no user (every
    stream moved later sorts after it); only a full one ends at its last stream, whose user's name the checkpoint
    then holds until the next window (or the user's erasure) replaces it."""
    cursor.execute(
        statement("changed_streams"),
        {"tx_id": str(checkpoint.tx_id), "user_id": checkpoint.user_id, "limit": limit},
    )
    found = cursor.fetchall()  # one row at least: the horizon's (with no stream when none moved)
    rows = [(user_id, changed_tx) for _, user_id, changed_tx in found if user_id is not None]
    full = len(rows) == limit
    end = Checkpoint(rows[-1][1], 0, rows[-1][0]) if full else Checkpoint(found[0][0], 0)
    return ChangedStreams(sorted(user_id for user_id, _ in rows), end, full)
