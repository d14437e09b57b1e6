"""Users' streams: the per-user lock every write of a user's data and their erasure take, and the stream versions.

Writers lock the stream row `FOR NO KEY UPDATE` (all they need to bump its version): they queue behind each other and
behind an erasure, which locks it `FOR UPDATE` and deletes it. A summary being stored holds it `FOR KEY SHARE`, which
waits for an erasure only, never for a writer (store.summaries). Event times are the database's, read under the lock
and never earlier than the stream's previous event. A stream's version comes from one sequence for all users, taken
under the lock, and is its latest event's stream position: per user, positions are commit order (migration 0013).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from progress_tracking.db import Cursor


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


# The database's time once the lock is held, never earlier than the stream's latest event, and whether the stream
# moved (another write committed) while this statement waited for the lock: then what the statement read besides the
# locked row is older than the lock, and the caller reads again. (The outer SELECT reads the clock only after the CTE
# has returned the locked row.)
LOCKED_TIME = (
    "SELECT greatest(clock_timestamp(), locked.last_at),"
    " locked.version IS DISTINCT FROM (SELECT version FROM user_streams WHERE user_id = locked.user_id) FROM locked"
)


def lock_new_log(cursor: Cursor, user_id: str) -> tuple[datetime, int]:
    """The user's lock (their stream created for a first log) and a new log id, in one statement."""
    cursor.execute(
        "WITH locked AS (INSERT INTO user_streams (user_id, version) VALUES (%s, 0)"
        " ON CONFLICT (user_id) DO UPDATE SET version = user_streams.version RETURNING user_id, version, last_at)"
        " SELECT greatest(clock_timestamp(), last_at), nextval('progress_log_id_seq') FROM locked",
        (user_id,),
    )
    row = cursor.fetchone()
    assert row is not None
    return row[0], row[1]


def stream_versions(cursor: Cursor, user_ids: list[str]) -> dict[str, int]:
    """Each user's stream version (0 for a user with no events)."""
    cursor.execute("SELECT user_id, version FROM user_streams WHERE user_id = ANY(%s)", (user_ids,))
    return {user_id: 0 for user_id in user_ids} | dict(cursor.fetchall())
