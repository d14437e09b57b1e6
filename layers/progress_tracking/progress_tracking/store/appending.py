"""Appending a log's events and projecting them, each change under its user's lock, in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from progress_tracking.db import Cursor, defer, one_row, rows_by_name
from progress_tracking.errors import LogNotFound
from progress_tracking.models.logs import ProgressLog
from progress_tracking.store.columns import (
    DATA_FIELDS,
    LOG_COLUMNS,
    UPSERT_SET,
    event_data,
)
from progress_tracking.store.streams import StreamEvent, UserLock, lock_new_log


@dataclass(frozen=True)
class Change:
    """Who changed something and in which request: recorded with every event (the time is the database's)."""

    actor: str
    request_id: str | None


class LogEvent(StreamEvent):
    position: int
    log_id: int


# One event of a log, under its user's lock (taken by the transaction's first statement, which gave the time and the
# release_tx): the user's stream moves to a new version, which is the event's stream position (so a user's positions
# are their commit order); the event; the log's state in time before it ends and the new one starts (a deletion starts
# none).
APPEND = """
WITH stream AS (
    UPDATE user_streams
    SET version = nextval('user_stream_version_seq'),
        last_at = %(at)s,
        release_tx = %(release_tx)s::xid8
    WHERE user_id = %(user_id)s
    RETURNING version, release_tx
),
event AS (
    INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at,
                                 stream_position, release_tx)
    SELECT %(log_id)s, %(user_id)s, %(version)s, %(type)s, %(data)s, %(actor)s, %(request_id)s, %(at)s,
           stream.version, stream.release_tx
    FROM stream
),
ended AS (
    UPDATE progress_log_versions
    SET valid_to = %(at)s
    WHERE log_id = %(log_id)s
      AND valid_to = 'infinity'
)
INSERT INTO progress_log_versions (log_id, version, user_id, date, weight_kg, workout_done, calories_burned, notes,
                                   created_at, valid_from, valid_to)
SELECT %(log_id)s, %(version)s, %(user_id)s, %(date)s, %(weight_kg)s, %(workout_done)s, %(calories_burned)s,
       %(notes)s, %(created_at)s, %(at)s, 'infinity'
WHERE %(type)s <> 'deleted'
"""


def _append(cursor: Cursor, log: ProgressLog, event_type: str, change: Change, lock: UserLock) -> None:
    """Append one event (APPEND), sent with the COMMIT.

    Called under the user's lock, with the log's latest version read under it: a version cannot exist already.
    """
    values = log.model_dump()
    defer(
        cursor,
        APPEND,
        {
            **{name: values[name] for name in DATA_FIELDS},
            "log_id": log.log_id,
            "user_id": log.user_id,
            "version": log.version,
            "type": event_type,
            "data": event_data(log),
            "actor": change.actor,
            "request_id": change.request_id,
            "at": lock.at,
            "release_tx": lock.release_tx,
            "created_at": log.created_at,
        },
    )


def _project(cursor: Cursor, log: ProgressLog) -> None:
    values = log.model_dump()
    defer(
        cursor,
        f"INSERT INTO progress_logs ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join(['%s'] * len(LOG_COLUMNS))})"
        f" ON CONFLICT (log_id) DO UPDATE SET {UPSERT_SET}",
        [values[name] for name in LOG_COLUMNS],
    )


def log_new(
    cursor: Cursor, user_id: str, fields: dict[str, Any], change: Change, locked: tuple[UserLock, int] | None = None
) -> ProgressLog:
    """A new log: the user's lock (and stream, for a first log) and its id first (`locked`, when the caller took
    them), then the event and the projection, sent with the COMMIT."""
    lock, log_id = locked or lock_new_log(cursor, user_id)
    log = ProgressLog(
        log_id=log_id,
        user_id=user_id,
        version=1,
        created_at=lock.at,
        updated_at=lock.at,
        **{name: fields.get(name) for name in DATA_FIELDS},
    )
    _append(cursor, log, "logged", change, lock)
    _project(cursor, log)
    return log


@dataclass(frozen=True)
class LockedLog:
    """A live log whose user is locked until the transaction ends, read under the lock."""

    log: ProgressLog
    lock: UserLock


def _lock_of(row: dict[str, Any]) -> UserLock:
    """The lock's part of a row of the functions that lock first and read after (migration 0014)."""
    return UserLock(row.pop("event_at"), row.pop("release_tx"))


def lock_log(cursor: Cursor, log_id: int) -> LockedLog:
    """The user's lock, then the live log as it is under it (its row locked too), in one statement: changes and
    erasure queue behind each other. No such log, or one deleted or erased while this waited: LogNotFound."""
    cursor.execute("SELECT * FROM progress_lock_log(%(log_id)s)", {"log_id": log_id})
    rows = rows_by_name(cursor)
    if not rows:
        raise LogNotFound()
    lock = _lock_of(rows[0])
    return LockedLog(ProgressLog(**rows[0]), lock)


def update(cursor: Cursor, locked: LockedLog, changes: dict[str, Any], change: Change) -> ProgressLog:
    current = locked.log
    updated = current.model_copy(update={**changes, "version": current.version + 1, "updated_at": locked.lock.at})
    _append(cursor, updated, "updated", change, locked.lock)
    _project(cursor, updated)
    return updated


def delete(cursor: Cursor, locked: LockedLog, change: Change) -> None:
    # The deletion event keeps the last state, so history shows what was deleted and a rollback can restore it.
    current = locked.log
    _append(cursor, current.model_copy(update={"version": current.version + 1}), "deleted", change, locked.lock)
    defer(cursor, "DELETE FROM progress_logs WHERE log_id = %s", (current.log_id,))


# The open states in time of a user's logs, ended when a delete-all deleted every live log: under the user's lock they
# are exactly the states of the logs it deleted (no join to those, which a plan made from statistics that knew
# nothing of a heavy user ran as a nested loop: 12.5 million comparisons for 5,000 logs, past the 2 s limit).
END_OPEN_STATES = """
UPDATE progress_log_versions
SET valid_to = %(at)s
WHERE user_id = %(user_id)s
  AND valid_to = 'infinity'
"""


def delete_all_for_user(cursor: Cursor, user_id: str, change: Change) -> int:
    """Delete every live log of a user, a deletion event each, under the user's lock, set-based: the function of
    migration 0013 (whose delete sees every write that committed while the lock was awaited), sent with the BEGIN,
    then END_OPEN_STATES with the COMMIT: two round trips, two statements under their limit each. 0 when the user has
    nothing."""
    cursor.execute(
        "SELECT deleted_logs, deleted_at FROM progress_delete_all_logs(%s, %s, %s)",
        (user_id, change.actor, change.request_id),
    )
    deleted, at = one_row(cursor)
    if deleted:
        defer(cursor, END_OPEN_STATES, {"user_id": user_id, "at": at})
    return int(deleted)


_EVENT_COLUMNS = (
    "position",
    "log_id",
    "user_id",
    "version",
    "event_type",
    "data",
    "actor",
    "request_id",
    "occurred_at",
)


# A log's events after a version, oldest first, at most `limit` of them (NULL: all): a range of the (log_id, version)
# key. The columns are _EVENT_COLUMNS, in order.
_LOG_EVENTS = (
    "SELECT position, log_id, user_id, version, event_type, data, actor, request_id, occurred_at"
    " FROM progress_events"
    " WHERE log_id = %(log_id)s AND version > %(after)s"
    " ORDER BY version"
    " LIMIT %(limit)s"
)


def log_events(cursor: Cursor, log_id: int, after: int = 0, limit: int | None = None) -> list[LogEvent]:
    """The events of one log after version `after` (every one by default), oldest first, deleted logs included; a log
    with none there is LogNotFound."""
    cursor.execute(_LOG_EVENTS, {"log_id": log_id, "after": after, "limit": limit})
    events = [LogEvent(**dict(zip(_EVENT_COLUMNS, row, strict=True))) for row in cursor.fetchall()]
    if not events:
        raise LogNotFound()
    return events


@dataclass(frozen=True)
class LockedHistory:
    """Every event of a log (deleted or not), read under its user's lock, held until the transaction ends."""

    events: list[LogEvent]
    lock: UserLock


def lock_history(cursor: Cursor, log_id: int) -> LockedHistory:
    """The user's lock, then every event of the log as they are under it, in one statement. No such log, or its user
    erased while this waited: LogNotFound."""
    cursor.execute("SELECT * FROM progress_lock_log_events(%(log_id)s)", {"log_id": log_id})
    rows = rows_by_name(cursor)
    if not rows:
        raise LogNotFound()
    lock = _lock_of(rows[0])
    for row in rows[1:]:
        _lock_of(row)
    return LockedHistory([LogEvent(**row) for row in rows], lock)


def restore(cursor: Cursor, history: LockedHistory, target: LogEvent, change: Change) -> ProgressLog:
    """Append a `restored` event whose state is the state `target` produced (a deleted log comes back)."""
    events = history.events
    restored = ProgressLog(
        log_id=target.log_id,
        user_id=target.user_id,
        version=events[-1].version + 1,
        created_at=events[0].occurred_at,
        updated_at=history.lock.at,
        **{name: target.data.get(name) for name in DATA_FIELDS},
    )
    _append(cursor, restored, "restored", change, history.lock)
    _project(cursor, restored)
    return restored
