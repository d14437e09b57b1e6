"""The goals' event stream and projection, and the facts about a user's logs that goal progress is computed from.

A goal write is one statement, a function of migration 0014: the user's lock first (their stream created for a first
write), then the current goals read under it, the event appended with the lock's time and the projection updated. The
caller checks If-Match afterwards; a refusal rolls everything back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg2.extras import Json
from pydantic import BaseModel

from progress_tracking.db import Cursor, rows_by_name
from progress_tracking.models.goals import GOAL_FIELDS, Goals
from progress_tracking.store.statements import statement
from progress_tracking.store.streams import StreamEvent

# The trend is fitted to the weight logs of the 28 days ending at the latest one.
TREND_WINDOW_DAYS = 28


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
    # (Monday, workouts, calories) of the ISO weeks with logs from `weeks_from` on (the week before the one the facts
    # were computed in), and how many weeks in a row before `weeks_from` met each weekly target: this week and the
    # streak for any day from then on, whatever the length of the history. `weeks_from` None: every week with logs.
    weeks: list[tuple[date, int, float]] = []
    weeks_from: date | None = None
    workouts_weeks_met_before: int = 0
    calories_weeks_met_before: int = 0


# A user's goal facts as one jsonb (`goal.facts`, null without goals), for the user `u.user_id` of the outer query, at
# the time %(at)s.
_LOGS = "progress_logs AS l WHERE l.user_id = g.user_id"
_WEEKS_FROM = "(date_trunc('week', %(at)s::timestamptz AT TIME ZONE 'UTC')::date - 7)"


def _met_before(column: str, target: str) -> str:
    """How many weeks in a row before `_WEEKS_FROM` met the target (0 without one): the run of weeks with logs that
    ends the week before it (`run`: where it began, from the user's runs of weeks), cut after its latest week short of
    the target, found by reading the run's weeks back from its end and stopping at the first short one."""
    last = f"({_WEEKS_FROM} - 7)"
    return (
        f"CASE WHEN {target} IS NULL OR run.run_from IS NULL THEN 0 ELSE coalesce((SELECT ({last} - w.week) / 7"
        f" FROM progress_log_weeks AS w WHERE w.user_id = g.user_id AND w.week <= {last} AND w.week >= run.run_from"
        f" AND w.{column} < {target} ORDER BY w.week DESC LIMIT 1), ({last} - run.run_from) / 7 + 1) END"
    )


_SET_DAY = "(g.target_weight_set_at AT TIME ZONE 'UTC')::date"
_EVER = "'infinity'::date"


def _weighed(direction: str, day: str) -> str:
    """The (weight_kg, date) of the user's latest weighed log on or before `day` (`direction` '<='), or their first
    one after it ('>'), for a weight goal. Read from two months at most: the month of `day`, on its side of the day,
    and the nearest month beyond it that has a weight (the months' facts say which): a user who stopped weighing
    themselves long ago costs no more than one who weighs daily."""
    back = direction == "<="
    order = "date DESC, log_id DESC" if back else "date, log_id"
    month = f"date_trunc('month', {day}::timestamp)::date"
    nearest = (
        f"(SELECT m.month FROM progress_log_months AS m WHERE m.user_id = g.user_id AND m.month {'<' if back else '>'}"
        f" {month} AND m.{'latest' if back else 'first'}_weight IS NOT NULL ORDER BY m.month{' DESC' if back else ''}"
        " LIMIT 1)"
    )
    weighed = f"{_LOGS} AND g.target_weight_kg IS NOT NULL AND weight_kg IS NOT NULL"
    return (
        f"SELECT weight_kg, date FROM ((SELECT weight_kg, date, log_id FROM {weighed} AND date >= {month}"
        f"  AND date < ({month} + interval '1 month')::date AND date {direction} {day} ORDER BY {order} LIMIT 1)"
        f" UNION ALL (SELECT weight_kg, date, log_id FROM {weighed} AND date >= {nearest}"
        f"  AND date < ({nearest} + interval '1 month')::date ORDER BY {order} LIMIT 1)) AS nearest"
        f" ORDER BY {order} LIMIT 1"
    )


GOAL_FACTS_LATERAL = (
    " LEFT JOIN LATERAL (SELECT jsonb_build_object('version', g.version, 'target_weight_kg', g.target_weight_kg,"
    "  'target_date', g.target_date, 'target_weight_set_at', g.target_weight_set_at,"
    "  'weekly_workouts', g.weekly_workouts, 'weekly_calories_burned', g.weekly_calories_burned,"
    "  'start_weight', coalesce(before.weight_kg, after.weight_kg), 'start_date', coalesce(before.date, after.date),"
    "  'current_weight', latest.weight_kg, 'current_date', latest.date,"
    "  'trend_slope_per_day', CASE WHEN trend.points >= 3 THEN trend.slope END,"
    "  'trend_points', coalesce(trend.points, 0), 'weeks', coalesce(weeks.list, '[]'),"
    f"  'weeks_from', {_WEEKS_FROM}, 'workouts_weeks_met_before', {_met_before('workouts', 'g.weekly_workouts')},"
    f"  'calories_weeks_met_before', {_met_before('calories', 'g.weekly_calories_burned')}) AS facts"
    " FROM user_goals AS g"
    f" LEFT JOIN LATERAL ({_weighed('<=', _SET_DAY)}) AS before ON TRUE"
    f" LEFT JOIN LATERAL ({_weighed('>', _SET_DAY)}) AS after ON TRUE"
    f" LEFT JOIN LATERAL ({_weighed('<=', _EVER)}) AS latest ON TRUE"
    " LEFT JOIN LATERAL (SELECT regr_slope(weight_kg, (date - latest.date)::float8) AS slope,"
    f"  regr_count(weight_kg, (date - latest.date)::float8) AS points FROM {_LOGS}"
    f"  AND weight_kg IS NOT NULL AND date > latest.date - {TREND_WINDOW_DAYS} AND date <= latest.date)"
    " AS trend ON TRUE"
    " LEFT JOIN LATERAL (SELECT jsonb_agg(jsonb_build_array(week, workouts, calories) ORDER BY week) AS list"
    f"  FROM progress_log_weeks AS w WHERE w.user_id = g.user_id AND w.week >= {_WEEKS_FROM}"
    "  AND (g.weekly_workouts IS NOT NULL OR g.weekly_calories_burned IS NOT NULL)) AS weeks ON TRUE"
    " LEFT JOIN LATERAL (SELECT lower(r) AS run_from FROM progress_log_week_runs AS x, unnest(x.weeks) AS r"
    f"  WHERE x.user_id = g.user_id AND r @> {_WEEKS_FROM} - 7) AS run ON TRUE"
    " WHERE g.user_id = u.user_id AND (g.target_weight_kg IS NOT NULL OR g.weekly_workouts IS NOT NULL"
    "  OR g.weekly_calories_burned IS NOT NULL)) AS goal ON TRUE"
)


def goal_facts_of_users(cursor: Cursor, user_ids: list[str], at: datetime) -> dict[str, GoalFacts]:
    """The goal facts of the users who have goals at the time `at`, in one statement."""
    cursor.execute(
        f"SELECT u.user_id, goal.facts FROM unnest(%(users)s::text[]) AS u(user_id) {GOAL_FACTS_LATERAL}"
        " WHERE goal.facts IS NOT NULL",
        {"users": user_ids, "at": at},
    )
    return {user_id: GoalFacts.model_validate(facts) for user_id, facts in cursor.fetchall()}
