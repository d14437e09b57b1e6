"""Users' streams: the per-user lock every write of a user's data and their erasure take, and the stream versions.

The lock is one database function, `progress_lock_user` (migration 0014), every write's first call: writers lock the
user's stream row `FOR NO KEY UPDATE` and queue behind each other and behind an erasure, which locks it `FOR UPDATE`
and deletes it. A summary being stored holds it `FOR KEY SHARE`, which waits for an erasure only (migration 0016).
A stream's version comes from one sequence for all users, taken under the lock, and is its latest event's stream
position: per user, positions are commit order (migration 0013).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from progress_tracking.db import Cursor, one_row
from progress_tracking.store.statements import statement


class StreamEvent(BaseModel):
    """What every event of a user's streams records: whose, which version, what happened, the resulting state, who
    did it, in which request and when (the database's time)."""

    user_id: str
    version: int
    event_type: str
    data: dict[str, Any]
    actor: str
    request_id: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class UserLock:
    """The user's lock, held until the transaction ends (`progress_lock_user`, migration 0014), and what a write under
    it needs: the time its events are stamped with, and their `release_tx` (the relay's order, an xid8 as text)."""

    at: datetime
    release_tx: str


def lock_new_log(cursor: Cursor, user_id: str) -> tuple[UserLock, int]:
    """The user's lock (their stream created for a first log) and a new log id, in one statement."""
    cursor.execute(statement("lock_new_log"), {"user_id": user_id})
    at, release_tx, log_id = one_row(cursor)
    return UserLock(at, release_tx), log_id
