"""The goals' event stream and projection, and the facts about a user's logs that goal progress is computed from.

A goal write takes two statements: the user's stream version is bumped first (that row is the per-user lock every
write of the user's data and their erasure take), then one statement reads the current goals, appends the event with
database time and updates the projection. The caller checks If-Match afterwards; a refusal rolls everything back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg2.errors
from psycopg2.extras import Json
from pydantic import BaseModel

from progress_tracking.db import Cursor, one_row
from progress_tracking.errors import ConcurrentChange
from progress_tracking.models.goals import GOAL_FIELDS, Goals

GOAL_COLUMNS = (
    "user_id",
    "target_weight_kg",
    "target_date",
    "target_weight_set_at",
    "weekly_workouts",
    "weekly_calories_burned",
    "version",
    "updated_at",
)
# The trend is fitted to the weight logs of the 28 days ending at the latest one.
TREND_WINDOW_DAYS = 28


class GoalEvent(BaseModel):
    user_id: str
    version: int
    event_type: str
    data: dict[str, Any]
    actor: str
    request_id: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class Written:
    goals: Goals
    prior_version: int  # 0 when the user never had goals
    prior_active: bool  # whether the user had goals before this write


def _goals_from_row(row: tuple[Any, ...]) -> Goals:
    return Goals(**dict(zip(GOAL_COLUMNS, row, strict=True)))


def lock_user(cursor: Cursor, user_id: str) -> None:
    """Bump the user's stream version: the same upsert every log append does. Its row lock serialises the user's
    writes and erasure until the transaction ends, and the new version makes a stored summary stale."""
    cursor.execute(
        "INSERT INTO user_streams (user_id, version) VALUES (%s, 1)"
        " ON CONFLICT (user_id) DO UPDATE SET version = user_streams.version + 1",
        (user_id,),
    )


def write(cursor: Cursor, user_id: str, goals: dict[str, Any] | None, actor: str, request_id: str | None) -> Written:
    """Append a goals event (None: cleared) and project it, in one statement; call after `lock_user`."""
    values = {name: (goals or {}).get(name) for name in GOAL_FIELDS}
    data = {name: (value.isoformat() if isinstance(value, date) else value) for name, value in values.items()}
    try:
        _write(cursor, user_id, goals is None, data, values, actor, request_id)
    except psycopg2.errors.UniqueViolation as exc:  # only without lock_user first: another write took the version
        raise ConcurrentChange("The goals were changed at the same time by another request; try again") from exc
    row = one_row(cursor)
    return Written(goals=_goals_from_row(row[2:]), prior_version=row[0], prior_active=row[1])


def _write(
    cursor: Cursor,
    user_id: str,
    clear: bool,
    data: dict[str, Any],
    values: dict[str, Any],
    actor: str,
    request_id: str | None,
) -> None:
    cursor.execute(
        "WITH prior AS ("
        "  SELECT v.user_id, coalesce(g.version, 0) AS version, g.target_weight_kg, g.target_weight_set_at,"
        "   g.updated_at, coalesce(g.target_weight_kg IS NOT NULL OR g.weekly_workouts IS NOT NULL"
        "    OR g.weekly_calories_burned IS NOT NULL, false) AS active"
        "  FROM (VALUES (%(user_id)s::text)) AS v(user_id) LEFT JOIN user_goals AS g USING (user_id)),"
        " event AS ("
        "  INSERT INTO goal_events (user_id, version, event_type, data, actor, request_id, occurred_at)"
        "  SELECT user_id, version + 1,"
        "   CASE WHEN %(clear)s THEN 'cleared' WHEN active THEN 'changed' ELSE 'set' END,"
        "   %(data)s, %(actor)s, %(request_id)s, greatest(clock_timestamp(), updated_at) FROM prior"
        "  RETURNING user_id, version, occurred_at),"
        " projected AS ("
        f"  INSERT INTO user_goals ({', '.join(GOAL_COLUMNS)})"
        "  SELECT event.user_id, %(target_weight_kg)s::float8, %(target_date)s::date,"
        "   CASE WHEN %(target_weight_kg)s::float8 IS NULL THEN NULL"
        "    WHEN prior.target_weight_kg = %(target_weight_kg)s::float8 THEN prior.target_weight_set_at"
        "    ELSE event.occurred_at END,"
        "   %(weekly_workouts)s::integer, %(weekly_calories_burned)s::float8, event.version, event.occurred_at"
        "  FROM event JOIN prior USING (user_id)"
        "  ON CONFLICT (user_id) DO UPDATE SET target_weight_kg = EXCLUDED.target_weight_kg,"
        "   target_date = EXCLUDED.target_date, target_weight_set_at = EXCLUDED.target_weight_set_at,"
        "   weekly_workouts = EXCLUDED.weekly_workouts, weekly_calories_burned = EXCLUDED.weekly_calories_burned,"
        "   version = EXCLUDED.version, updated_at = EXCLUDED.updated_at"
        f"  RETURNING {', '.join(GOAL_COLUMNS)})"
        f" SELECT prior.version, prior.active, {', '.join(f'projected.{name}' for name in GOAL_COLUMNS)}"
        " FROM prior, projected",
        {
            "user_id": user_id,
            "clear": clear,
            "data": Json(data, dumps=json.dumps),
            "actor": actor,
            "request_id": request_id,
            **values,
        },
    )


def read(cursor: Cursor, user_id: str) -> Goals | None:
    """The user's goals; None when they have none (never set, or cleared)."""
    cursor.execute(
        f"SELECT {', '.join(GOAL_COLUMNS)} FROM user_goals WHERE user_id = %s AND (target_weight_kg IS NOT NULL"
        " OR weekly_workouts IS NOT NULL OR weekly_calories_burned IS NOT NULL)",
        (user_id,),
    )
    row = cursor.fetchone()
    return _goals_from_row(row) if row else None


def events(cursor: Cursor, user_id: str) -> list[GoalEvent]:
    """Every goals event of a user, oldest first."""
    cursor.execute(
        "SELECT user_id, version, event_type, data, actor, request_id, occurred_at"
        " FROM goal_events WHERE user_id = %s ORDER BY version",
        (user_id,),
    )
    names = ("user_id", "version", "event_type", "data", "actor", "request_id", "occurred_at")
    return [GoalEvent(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


class GoalFacts(BaseModel):
    """A user's goals and what their logs say about them, independent of today (stored with the summary)."""

    version: int
    target_weight_kg: float | None
    target_date: date | None
    target_weight_set_at: datetime | None
    weekly_workouts: int | None
    weekly_calories_burned: float | None
    start_weight: float | None = None  # latest weight log on or before the day the weight goal was set (else first)
    start_date: date | None = None
    current_weight: float | None = None  # latest weight log
    current_date: date | None = None
    trend_slope_per_day: float | None = None  # least squares over the trend window; None below 3 points
    trend_points: int = 0
    weeks: list[tuple[date, int, float]] = []  # (Monday, workouts, calories) of every ISO week with logs


def goal_facts_of_users(cursor: Cursor, user_ids: list[str]) -> dict[str, GoalFacts]:
    """The goal facts of the users who have goals, in one statement."""
    logs = "progress_logs AS l WHERE l.user_id = g.user_id"
    cursor.execute(
        "SELECT g.version, g.target_weight_kg, g.target_date, g.target_weight_set_at, g.weekly_workouts,"
        "  g.weekly_calories_burned, g.user_id,"
        "  coalesce(before.weight_kg, after.weight_kg), coalesce(before.date, after.date),"
        "  latest.weight_kg, latest.date, trend.slope, coalesce(trend.points, 0), weeks.list"
        " FROM user_goals AS g"
        f" LEFT JOIN LATERAL (SELECT weight_kg, date FROM {logs} AND g.target_weight_kg IS NOT NULL"
        "  AND weight_kg IS NOT NULL AND date <= (g.target_weight_set_at AT TIME ZONE 'UTC')::date"
        "  ORDER BY date DESC, log_id DESC LIMIT 1) AS before ON TRUE"
        f" LEFT JOIN LATERAL (SELECT weight_kg, date FROM {logs} AND g.target_weight_kg IS NOT NULL"
        "  AND weight_kg IS NOT NULL AND date > (g.target_weight_set_at AT TIME ZONE 'UTC')::date"
        "  ORDER BY date, log_id LIMIT 1) AS after ON TRUE"
        f" LEFT JOIN LATERAL (SELECT weight_kg, date FROM {logs} AND g.target_weight_kg IS NOT NULL"
        "  AND weight_kg IS NOT NULL ORDER BY date DESC, log_id DESC LIMIT 1) AS latest ON TRUE"
        " LEFT JOIN LATERAL (SELECT regr_slope(weight_kg, (date - latest.date)::float8) AS slope,"
        f"  regr_count(weight_kg, (date - latest.date)::float8) AS points FROM {logs}"
        "  AND weight_kg IS NOT NULL AND date > latest.date - %(window)s AND date <= latest.date) AS trend ON TRUE"
        " LEFT JOIN LATERAL (SELECT json_agg(json_build_array(week, workouts, calories) ORDER BY week) AS list"
        "  FROM (SELECT date_trunc('week', date::timestamp)::date AS week, count(workout_done) AS workouts,"
        f"   coalesce(sum(calories_burned), 0) AS calories FROM {logs} GROUP BY 1) AS w"
        "  WHERE g.weekly_workouts IS NOT NULL OR g.weekly_calories_burned IS NOT NULL) AS weeks ON TRUE"
        " WHERE g.user_id = ANY(%(users)s) AND (g.target_weight_kg IS NOT NULL OR g.weekly_workouts IS NOT NULL"
        "  OR g.weekly_calories_burned IS NOT NULL)",
        {"users": user_ids, "window": TREND_WINDOW_DAYS},
    )
    facts = {}
    for row in cursor.fetchall():
        names = ("version", "target_weight_kg", "target_date", "target_weight_set_at", "weekly_workouts")
        facts[row[6]] = GoalFacts(
            **dict(zip(names, row[:5], strict=True)),
            weekly_calories_burned=row[5],
            start_weight=row[7],
            start_date=row[8],
            current_weight=row[9],
            current_date=row[10],
            trend_slope_per_day=row[11] if row[12] >= 3 else None,
            trend_points=row[12],
            weeks=[(date.fromisoformat(week), workouts, calories) for week, workouts, calories in row[13] or []],
        )
    return facts
