"""The event store and its projections: all of the service's SQL, speaking the domain's models and errors.

Every change appends an immutable event to `progress_events` and updates the `progress_logs` projection in the
caller's transaction, so the two can never disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg2.extras import Json

from progress_tracking.db import Cursor
from progress_tracking.errors import LogNotFound
from progress_tracking.models import ProgressLog

LOG_COLUMNS = (
    "log_id",
    "user_id",
    "date",
    "weight_kg",
    "workout_done",
    "calories_burned",
    "notes",
    "version",
    "created_at",
    "updated_at",
)
DATA_FIELDS = ("date", "weight_kg", "workout_done", "calories_burned", "notes")
_SELECT_LOG = f"SELECT {', '.join(LOG_COLUMNS)} FROM progress_logs"


@dataclass(frozen=True)
class Change:
    """Who changed something, when, and in which request: recorded with every event."""

    actor: str
    request_id: str | None
    at: datetime


def _log_from_row(row: tuple[Any, ...]) -> ProgressLog:
    return ProgressLog(**dict(zip(LOG_COLUMNS, row, strict=True)))


def _event_data(fields: dict[str, Any]) -> Json:
    data = {name: fields.get(name) for name in DATA_FIELDS}
    if isinstance(data["date"], date):
        data["date"] = data["date"].isoformat()
    return Json(data, dumps=json.dumps)


def _append(cursor: Cursor, log: ProgressLog, event_type: str, change: Change) -> None:
    cursor.execute(
        "INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            log.log_id,
            log.user_id,
            log.version,
            event_type,
            _event_data(log.model_dump()),
            change.actor,
            change.request_id,
            change.at,
        ),
    )


def _project(cursor: Cursor, log: ProgressLog) -> None:
    values = log.model_dump()
    cursor.execute(
        f"INSERT INTO progress_logs ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join(['%s'] * len(LOG_COLUMNS))})"
        " ON CONFLICT (log_id) DO UPDATE SET date = EXCLUDED.date, weight_kg = EXCLUDED.weight_kg,"
        " workout_done = EXCLUDED.workout_done, calories_burned = EXCLUDED.calories_burned,"
        " notes = EXCLUDED.notes, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
        [values[name] for name in LOG_COLUMNS],
    )


def log_new(cursor: Cursor, user_id: str, fields: dict[str, Any], change: Change) -> ProgressLog:
    cursor.execute("SELECT nextval('progress_log_id_seq')")
    (log_id,) = cursor.fetchone()
    log = ProgressLog(
        log_id=log_id,
        user_id=user_id,
        version=1,
        created_at=change.at,
        updated_at=change.at,
        **{name: fields.get(name) for name in DATA_FIELDS},
    )
    _append(cursor, log, "logged", change)
    _project(cursor, log)
    return log


def lock_log(cursor: Cursor, log_id: int) -> ProgressLog:
    """The live log, locked until the transaction ends so that concurrent changes queue behind each other."""
    cursor.execute(f"{_SELECT_LOG} WHERE log_id = %s FOR UPDATE", (log_id,))
    row = cursor.fetchone()
    if row is None:
        raise LogNotFound()
    return _log_from_row(row)


def update(cursor: Cursor, current: ProgressLog, changes: dict[str, Any], change: Change) -> ProgressLog:
    updated = current.model_copy(update={**changes, "version": current.version + 1, "updated_at": change.at})
    _append(cursor, updated, "updated", change)
    _project(cursor, updated)
    return updated


def delete(cursor: Cursor, current: ProgressLog, change: Change) -> None:
    # The deletion event keeps the last state, so history shows what was deleted and a rollback can restore it.
    _append(cursor, current.model_copy(update={"version": current.version + 1}), "deleted", change)
    cursor.execute("DELETE FROM progress_logs WHERE log_id = %s", (current.log_id,))


def delete_all_for_user(cursor: Cursor, user_id: str, change: Change) -> int:
    """Delete every live log of a user in one statement, appending one deletion event per log."""
    cursor.execute(
        "WITH gone AS (DELETE FROM progress_logs WHERE user_id = %(user_id)s RETURNING *)"
        " INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at)"
        " SELECT log_id, user_id, version + 1, 'deleted',"
        "  jsonb_build_object('date', date, 'weight_kg', weight_kg, 'workout_done', workout_done,"
        "   'calories_burned', calories_burned, 'notes', notes),"
        "  %(actor)s, %(request_id)s, %(at)s FROM gone",
        {"user_id": user_id, "actor": change.actor, "request_id": change.request_id, "at": change.at},
    )
    return cursor.rowcount


def list_logs(
    cursor: Cursor,
    user_id: str,
    *,
    after: tuple[date, int] | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
) -> list[ProgressLog]:
    """A page of a user's live logs, oldest first, by keyset on (date, log_id) so that every page costs the same."""
    conditions = ["user_id = %s"]
    params: list[Any] = [user_id]
    if after is not None:
        conditions.append("(date, log_id) > (%s, %s)")
        params.extend(after)
    if date_from is not None:
        conditions.append("date >= %s")
        params.append(date_from)
    if date_to is not None:
        conditions.append("date <= %s")
        params.append(date_to)
    params.append(limit)
    cursor.execute(f"{_SELECT_LOG} WHERE {' AND '.join(conditions)} ORDER BY date, log_id LIMIT %s", params)
    return [_log_from_row(row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class SummaryFacts:
    """What the database knows about a user's logs; `summary` turns it into the API's summary."""

    log_count: int
    first_date: date | None
    last_date: date | None
    average_weight: float | None
    min_weight: float | None
    max_weight: float | None
    first_weight: float | None
    latest_weight: float | None
    average_calories: float | None
    total_calories: float
    workouts: dict[str, int]
    longest_streak: int
    last_streak: int


def summary_facts(cursor: Cursor, user_id: str) -> SummaryFacts:
    cursor.execute(
        "SELECT count(*), min(date), max(date), avg(weight_kg), min(weight_kg), max(weight_kg),"
        " avg(calories_burned), coalesce(sum(calories_burned), 0),"
        " (SELECT weight_kg FROM progress_logs WHERE user_id = %(u)s AND weight_kg IS NOT NULL"
        "   ORDER BY date, log_id LIMIT 1),"
        " (SELECT weight_kg FROM progress_logs WHERE user_id = %(u)s AND weight_kg IS NOT NULL"
        "   ORDER BY date DESC, log_id DESC LIMIT 1)"
        " FROM progress_logs WHERE user_id = %(u)s",
        {"u": user_id},
    )
    (
        count,
        first_date,
        last_date,
        avg_weight,
        min_weight,
        max_weight,
        avg_calories,
        total_calories,
        first_weight,
        latest_weight,
    ) = cursor.fetchone()
    cursor.execute(
        "SELECT lower(btrim(workout_done)), count(*) FROM progress_logs"
        " WHERE user_id = %s AND workout_done IS NOT NULL GROUP BY 1 ORDER BY 1",
        (user_id,),
    )
    workouts = {kind: n for kind, n in cursor.fetchall()}
    # Gaps and islands: consecutive distinct dates share (date - row_number); each island is a streak.
    cursor.execute(
        "WITH days AS (SELECT DISTINCT date FROM progress_logs WHERE user_id = %s),"
        " islands AS (SELECT date, date - (row_number() OVER (ORDER BY date))::int AS island FROM days),"
        " streaks AS (SELECT max(date) AS last_day, count(*) AS length FROM islands GROUP BY island)"
        " SELECT coalesce(max(length), 0),"
        "  coalesce((SELECT length FROM streaks ORDER BY last_day DESC LIMIT 1), 0) FROM streaks",
        (user_id,),
    )
    longest, last_streak = cursor.fetchone()
    return SummaryFacts(
        log_count=count,
        first_date=first_date,
        last_date=last_date,
        average_weight=avg_weight,
        min_weight=min_weight,
        max_weight=max_weight,
        first_weight=first_weight,
        latest_weight=latest_weight,
        average_calories=avg_calories,
        total_calories=total_calories,
        workouts=workouts,
        longest_streak=longest,
        last_streak=last_streak,
    )
