"""The goals' event stream and its projection: a goals write (whole goals, or a merge patch of them), the goals, and
their events.

A goal write is one statement, a function of migration 0014 (0022 for a patch): the user's lock first (their stream
created for a first write), then the current goals read under it, the event appended with the lock's time and the
projection updated. The caller checks If-Match afterwards; a refusal rolls everything back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg2.extras import Json

from progress_tracking.db import Cursor, rows_by_name
from progress_tracking.models.goal import GOAL_FIELDS, Goals
from progress_tracking.store.statements import statement
from progress_tracking.store.streams import StreamEvent


class GoalEvent(StreamEvent):
    """An event of a user's goals stream."""


@dataclass(frozen=True)
class Written:
    goals: Goals
    prior_version: int  # 0 when the user never had goals
    prior_active: bool  # whether the user had goals before this write


def write(cursor: Cursor, user_id: str, goals: dict[str, Any] | None, actor: str, request_id: str | None) -> Written:
    """Take the user's lock, then append a goals event (None: cleared) and project it: one statement
    (`progress_write_goals`, migration 0014), which reads the goals only once the lock is held."""
    values = {name: (goals or {}).get(name) for name in GOAL_FIELDS}
    data = {name: (value.isoformat() if isinstance(value, date) else value) for name, value in values.items()}
    cursor.execute(
        statement("write_goals"),
        {
            "user_id": user_id,
            "clear": goals is None,
            "data": Json(data, dumps=json.dumps),
            "actor": actor,
            "request_id": request_id,
            **values,
        },
    )
    return _written(cursor)


def patch(cursor: Cursor, user_id: str, members: dict[str, Any], actor: str, request_id: str | None) -> Written:
    """Take the user's lock, then merge `members` (JSON Merge Patch: a value sets, None clears, an absent goal stays)
    into the goals read under it and write the result as `write` does: one statement (`progress_patch_goals`,
    migration 0022)."""
    cursor.execute(
        statement("patch_goals"),
        {"user_id": user_id, "patch": Json(members, dumps=json.dumps), "actor": actor, "request_id": request_id},
    )
    return _written(cursor)


def _written(cursor: Cursor) -> Written:
    (row,) = rows_by_name(cursor)
    prior_version, prior_active = row.pop("prior_version"), row.pop("prior_active")
    return Written(goals=Goals(**row), prior_version=prior_version, prior_active=prior_active)


def read(cursor: Cursor, user_id: str) -> Goals | None:
    """The user's goals; None when they have none (never set, or cleared)."""
    cursor.execute(statement("read_goals"), {"user_id": user_id})
    rows = rows_by_name(cursor)
    return Goals(**rows[0]) if rows else None


def events(cursor: Cursor, user_id: str, after: int = 0, limit: int | None = None) -> list[GoalEvent]:
    """A user's goals events after version `after` (every one by default), oldest first, at most `limit` (None: all):
    a range of the (user_id, version) key."""
    cursor.execute(statement("goal_events"), {"user_id": user_id, "after": after, "limit": limit})
    return [GoalEvent(**row) for row in rows_by_name(cursor)]
