"""Appending a log's events and projecting them, each change under its user's lock, in the caller's transaction.

A write's first statement takes the user's lock and reads what the write needs under it (`lock_new_log`,
`lock_log`, `lock_history`, `delete_all_for_user`); its events and projection go with the COMMIT (`defer`): two
round trips.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from psycopg2.extras import Json
from pydantic_core import to_jsonable_python

from progress_tracking.db import Cursor, defer, one_row, rows_by_name
from progress_tracking.errors import LogNotFound
from progress_tracking.models.log import STATE_FIELDS, ProgressLog, state_of
from progress_tracking.store.statements import statement
from progress_tracking.store.streams import StreamEvent, UserLock, lock_new_log
from progress_tracking.units import unit_of


@dataclass(frozen=True)
class Change:
    """Who changed something and in which request: recorded with every event (the time is the database's)."""

    actor: str
    request_id: str | None


class LogEvent(StreamEvent):
    position: int
    log_id: int


def event_state(state: dict[str, Any]) -> dict[str, Any]:
    """An event's data out of a log's state fields (STATE_FIELDS): those fields, JSON-ready, and the unit its weight
    was entered in. The single writes' events (event_data) and the upsert's (store.upserting) record it alike."""
    return {**to_jsonable_python(state), "weight_unit": unit_of(state["weight_kg"], state["weight_lb"])}


def event_data(log: ProgressLog) -> Json:
    """An event's data: the log's state fields and the unit its weight was entered in (the rest of its state is in
    the event row itself)."""
    return Json(event_state(log.model_dump(include=set(STATE_FIELDS))), dumps=json.dumps)


def _append(cursor: Cursor, log: ProgressLog, event_type: str, change: Change, lock: UserLock) -> None:
    """Append one event, sent with the COMMIT. Called under the user's lock, with the log's latest version read under
    it: a version cannot exist already."""
    defer(
        cursor,
        statement("append_log_event"),
        {
            **log.model_dump(),
            "event_type": event_type,
            "data": event_data(log),
            "actor": change.actor,
            "request_id": change.request_id,
            "at": lock.at,
            "release_tx": lock.release_tx,
        },
    )


def _project(cursor: Cursor, log: ProgressLog) -> None:
    defer(cursor, statement("project_log"), log.model_dump())


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
        **state_of(fields),
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
    cursor.execute(statement("lock_log"), {"log_id": log_id})
    rows = rows_by_name(cursor)
    if not rows:
        raise LogNotFound()
    lock = _lock_of(rows[0])
    return LockedLog(ProgressLog(**rows[0]), lock)


def update(cursor: Cursor, locked: LockedLog, changes: dict[str, Any], change: Change) -> ProgressLog:
    current = locked.log
    if "weight_kg" in changes and "weight_lb" not in changes:
        changes = {**changes, "weight_lb": None}  # a weight in kg replaces one entered in pounds
    updated = current.model_copy(update={**changes, "version": current.version + 1, "updated_at": locked.lock.at})
    _append(cursor, updated, "updated", change, locked.lock)
    _project(cursor, updated)
    return updated


def delete(cursor: Cursor, locked: LockedLog, change: Change) -> None:
    # The deletion event keeps the last state, so history shows what was deleted and a rollback can restore it.
    current = locked.log
    _append(cursor, current.model_copy(update={"version": current.version + 1}), "deleted", change, locked.lock)
    defer(cursor, statement("delete_log"), {"log_id": current.log_id})


def delete_all_for_user(cursor: Cursor, user_id: str, change: Change) -> int:
    """Delete every live log of a user, a deletion event each, under the user's lock, set-based: the function of
    migrations 0013 and 0014 (whose delete sees every write that committed while the lock was awaited), then the
    logs' open states in time ended with the COMMIT: two round trips, two statements under their limit each. 0 when
    the user has nothing."""
    cursor.execute(
        statement("delete_all_logs"),
        {"user_id": user_id, "actor": change.actor, "request_id": change.request_id},
    )
    deleted, at = one_row(cursor)
    if deleted:
        defer(cursor, statement("end_open_states"), {"user_id": user_id, "at": at})
    return int(deleted)


def log_events(cursor: Cursor, log_id: int, after: int = 0, limit: int | None = None) -> list[LogEvent]:
    """The events of one log after version `after` (every one by default), oldest first, deleted logs included; a log
    with none there is LogNotFound."""
    cursor.execute(statement("log_events"), {"log_id": log_id, "after": after, "limit": limit})
    events = [LogEvent(**row) for row in rows_by_name(cursor)]
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
    cursor.execute(statement("lock_log_events"), {"log_id": log_id})
    rows = rows_by_name(cursor)
    if not rows:
        raise LogNotFound()
    locks = [_lock_of(row) for row in rows]
    return LockedHistory([LogEvent(**row) for row in rows], locks[0])


def restore(cursor: Cursor, history: LockedHistory, target: LogEvent, change: Change) -> ProgressLog:
    """Append a `restored` event whose state is the state `target` produced (a deleted log comes back)."""
    events = history.events
    restored = ProgressLog(
        log_id=target.log_id,
        user_id=target.user_id,
        version=events[-1].version + 1,
        created_at=events[0].occurred_at,
        updated_at=history.lock.at,
        **state_of(target.data),
    )
    _append(cursor, restored, "restored", change, history.lock)
    _project(cursor, restored)
    return restored
