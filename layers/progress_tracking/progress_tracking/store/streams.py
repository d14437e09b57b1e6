"""Users' streams: the per-user lock every write of a user's data and their erasure take, and the stream versions.

Event times are the database's, read under that lock and never earlier than the stream's previous event.
"""

from __future__ import annotations

from datetime import datetime

from progress_tracking.db import Cursor
from progress_tracking.errors import LogNotFound

# The database's time once the lock is held, never earlier than the stream's latest event. (The outer SELECT reads the
# clock only after the CTE has returned the locked row.)
_LOCKED_TIME = "SELECT greatest(clock_timestamp(), last_at) FROM locked"


def lock_user(cursor: Cursor, user_id: str, *, create: bool = False) -> datetime | None:
    """Take the user's lock (their stream row) until the transaction ends; the time to stamp events with.

    None when the user has no stream (nothing of theirs exists) and `create` is false.
    """
    if create:
        cursor.execute(
            "WITH locked AS (INSERT INTO user_streams (user_id, version) VALUES (%s, 0)"
            " ON CONFLICT (user_id) DO UPDATE SET version = user_streams.version RETURNING last_at) " + _LOCKED_TIME,
            (user_id,),
        )
    else:
        cursor.execute(
            "WITH locked AS (SELECT last_at FROM user_streams WHERE user_id = %s FOR UPDATE) " + _LOCKED_TIME,
            (user_id,),
        )
    row = cursor.fetchone()
    return row[0] if row else None


def lock_owner_of(cursor: Cursor, log_id: int, table: str) -> datetime:
    """Lock the user whose log this is (found in `table`, unlocked: a log never changes hands)."""
    cursor.execute(
        f"WITH owner AS (SELECT user_id FROM {table} WHERE log_id = %s LIMIT 1),"
        " locked AS (SELECT last_at FROM user_streams WHERE user_id = (SELECT user_id FROM owner) FOR UPDATE) "
        + _LOCKED_TIME,
        (log_id,),
    )
    row = cursor.fetchone()
    if row is None:
        raise LogNotFound()
    return row[0]


def stream_versions(cursor: Cursor, user_ids: list[str]) -> dict[str, int]:
    """Each user's stream version (0 for a user with no events)."""
    cursor.execute("SELECT user_id, version FROM user_streams WHERE user_id = ANY(%s)", (user_ids,))
    return {user_id: 0 for user_id in user_ids} | dict(cursor.fetchall())


def lock_streams_for_reading(cursor: Cursor, user_ids: list[str]) -> dict[str, int]:
    """The stream versions of those users who have a stream, each locked against writes and erasure until the
    transaction ends (shared: readers do not wait for each other). An erased user has none: nothing is stored for them.
    """
    cursor.execute(
        "SELECT user_id, version FROM user_streams WHERE user_id = ANY(%s) ORDER BY user_id FOR SHARE", (user_ids,)
    )
    return dict(cursor.fetchall())
