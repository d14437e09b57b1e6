"""Appending a log's events and projecting them, each change under its user's lock, in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from progress_tracking.db import Cursor, one_row
from progress_tracking.errors import ConcurrentChange, LogNotFound
from progress_tracking.models.logs import ProgressLog
from progress_tracking.store.columns import (
    DATA_FIELDS,
    DATA_FROM_COLUMNS,
    LOG_COLUMNS,
    SELECT_LOG,
    UPSERT_SET,
    event_data,
    log_from_row,
)
from progress_tracking.store.streams import lock_owner_of, lock_user


@dataclass(frozen=True)
class Change:
    """Who changed something and in which request: recorded with every event (the time is the database's)."""

    actor: str
    request_id: str | None


class LogEvent(BaseModel):
    position: int
    log_id: int
    user_id: str
    version: int
    event_type: str
    data: dict[str, Any]
    actor: str
    request_id: str | None
    occurred_at: datetime


def _append(cursor: Cursor, log: ProgressLog, event_type: str, change: Change, at: datetime) -> None:
    """Append one event and give the user's stream a new version, in one statement, under the user's lock.

    A version of the log that exists already is not an error in the database (so its log stays clean): it is checked.
    """
    cursor.execute(
        "WITH event AS ("
        " INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (log_id, version) DO NOTHING RETURNING user_id)"
        " UPDATE user_streams SET version = nextval('user_stream_version_seq'), last_at = %s"
        " WHERE user_id = (SELECT user_id FROM event) RETURNING 1",
        (log.log_id, log.user_id, log.version, event_type, event_data(log), change.actor, change.request_id, at, at),
    )
    if cursor.fetchone() is None:
        raise ConcurrentChange()


def _project(cursor: Cursor, log: ProgressLog) -> None:
    values = log.model_dump()
    cursor.execute(
        f"INSERT INTO progress_logs ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join(['%s'] * len(LOG_COLUMNS))})"
        f" ON CONFLICT (log_id) DO UPDATE SET {UPSERT_SET}",
        [values[name] for name in LOG_COLUMNS],
    )


def log_new(cursor: Cursor, user_id: str, fields: dict[str, Any], change: Change) -> ProgressLog:
    """A new log: the user's lock (and stream, for a first log) first, then the event and the projection."""
    at = lock_user(cursor, user_id, create=True)
    assert at is not None  # created if missing
    cursor.execute("SELECT nextval('progress_log_id_seq')")
    (log_id,) = one_row(cursor)
    log = ProgressLog(
        log_id=log_id,
        user_id=user_id,
        version=1,
        created_at=at,
        updated_at=at,
        **{name: fields.get(name) for name in DATA_FIELDS},
    )
    _append(cursor, log, "logged", change, at)
    _project(cursor, log)
    return log


@dataclass(frozen=True)
class LockedLog:
    """A live log whose user is locked until the transaction ends, and the time changes to it are stamped with."""

    log: ProgressLog
    at: datetime


def lock_log(cursor: Cursor, log_id: int) -> LockedLog:
    """The live log, its user locked first (as every write does): changes and erasure queue behind each other."""
    at = lock_owner_of(cursor, log_id, "progress_logs")
    cursor.execute(f"{SELECT_LOG} WHERE log_id = %s FOR UPDATE", (log_id,))
    row = cursor.fetchone()
    if row is None:  # deleted or erased while this transaction waited for the lock
        raise LogNotFound()
    return LockedLog(log_from_row(row), at)


def update(cursor: Cursor, locked: LockedLog, changes: dict[str, Any], change: Change) -> ProgressLog:
    current = locked.log
    updated = current.model_copy(update={**changes, "version": current.version + 1, "updated_at": locked.at})
    _append(cursor, updated, "updated", change, locked.at)
    _project(cursor, updated)
    return updated


def delete(cursor: Cursor, locked: LockedLog, change: Change) -> None:
    # The deletion event keeps the last state, so history shows what was deleted and a rollback can restore it.
    current = locked.log
    _append(cursor, current.model_copy(update={"version": current.version + 1}), "deleted", change, locked.at)
    cursor.execute("DELETE FROM progress_logs WHERE log_id = %s", (current.log_id,))


def delete_all_for_user(cursor: Cursor, user_id: str, change: Change) -> int:
    """Delete every live log of a user in one statement (under the user's lock), one deletion event per log."""
    at = lock_user(cursor, user_id)
    if at is None:  # no stream: the user has never logged, or was erased
        return 0
    cursor.execute(
        "WITH gone AS (DELETE FROM progress_logs WHERE user_id = %(user_id)s RETURNING *),"
        " events AS ("
        "  INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at)"
        f"  SELECT log_id, user_id, version + 1, 'deleted', {DATA_FROM_COLUMNS},"
        "   %(actor)s, %(request_id)s, %(at)s FROM gone RETURNING 1),"
        " bumped AS ("
        "  UPDATE user_streams SET version = nextval('user_stream_version_seq'), last_at = %(at)s"
        "  WHERE user_id = %(user_id)s AND EXISTS (SELECT 1 FROM events))"
        " SELECT count(*) FROM events",
        {"user_id": user_id, "actor": change.actor, "request_id": change.request_id, "at": at},
    )
    return int(one_row(cursor)[0])


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


def log_events(cursor: Cursor, log_id: int) -> list[LogEvent]:
    """Every event of one log, oldest first (deleted logs included)."""
    cursor.execute(
        f"SELECT {', '.join(_EVENT_COLUMNS)} FROM progress_events WHERE log_id = %s ORDER BY version", (log_id,)
    )
    events = [LogEvent(**dict(zip(_EVENT_COLUMNS, row, strict=True))) for row in cursor.fetchall()]
    if not events:
        raise LogNotFound()
    return events


@dataclass(frozen=True)
class LockedHistory:
    """Every event of a log (deleted or not), its user locked until the transaction ends."""

    events: list[LogEvent]
    at: datetime


def lock_history(cursor: Cursor, log_id: int) -> LockedHistory:
    at = lock_owner_of(cursor, log_id, "progress_events")
    return LockedHistory(log_events(cursor, log_id), at)  # read under the lock: erased meanwhile is LogNotFound


def restore(cursor: Cursor, history: LockedHistory, target: LogEvent, change: Change) -> ProgressLog:
    """Append a `restored` event whose state is the state `target` produced (a deleted log comes back)."""
    events = history.events
    restored = ProgressLog(
        log_id=target.log_id,
        user_id=target.user_id,
        version=events[-1].version + 1,
        created_at=events[0].occurred_at,
        updated_at=history.at,
        **{name: target.data.get(name) for name in DATA_FIELDS},
    )
    _append(cursor, restored, "restored", change, history.at)
    _project(cursor, restored)
    return restored
