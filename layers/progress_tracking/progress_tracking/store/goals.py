"""The goals' event stream and projection, and the facts about a user's logs that goal progress is computed from.

A goal write is one statement (`LOCK_AND_WRITE`): the user's lock first (their stream row, which every write of the
user's data and their erasure take; created for a user's first write), then the current goals read, the event appended
with database time and the projection updated. The caller checks If-Match afterwards; a refusal rolls everything back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg2.extras import Json
from pydantic import BaseModel

from progress_tracking.db import Cursor, one_row
from progress_tracking.models.goals import GOAL_FIELDS, Goals
from progress_tracking.store.streams import StreamEvent

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


class GoalEvent(StreamEvent):
    """An event of a user's goals stream."""


@dataclass(frozen=True)
class Written:
    goals: Goals
    prior_version: int  # 0 when the user never had goals
    prior_active: bool  # whether the user had goals before this write


def _goals_from_row(row: tuple[Any, ...]) -> Goals:
    return Goals(**dict(zip(GOAL_COLUMNS, row, strict=True)))


# A goal write in one statement: the user's lock first, then the goals event and the projection.
#
# The lock is the user's stream row, locked as every write locks it (`locked`), or, for a user with none yet, created
# and so held (`created`, as a first log creates it): concurrent first writes queue on that row instead of racing to
# the same goals version. Either way the stream moves to a new version from the one sequence every write uses (a
# version never repeats for a user; a stored summary, which includes goal progress, goes stale), and that version is
# the goals event's stream position.
#
# The rest reads the goals as this statement's snapshot saw them, taken before the lock was granted. When another
# write of the user committed meanwhile (`moved`: the stream row as locked is not the row the snapshot saw, or the
# stream a concurrent first write created), nothing but the lock is written and the caller runs the statement again,
# under the lock now held and with a fresh snapshot.
LOCK_AND_WRITE = """
WITH locked AS (
    SELECT version
    FROM user_streams
    WHERE user_id = %(user_id)s
    FOR NO KEY UPDATE
),
created AS (
    INSERT INTO user_streams (user_id, version)
    SELECT %(user_id)s, nextval('user_stream_version_seq')
    WHERE NOT EXISTS (SELECT FROM locked)
    ON CONFLICT (user_id) DO UPDATE
    SET version = EXCLUDED.version
    RETURNING version, xmax = 0 AS fresh
),
bumped AS (
    UPDATE user_streams
    SET version = nextval('user_stream_version_seq')
    WHERE user_id = %(user_id)s
      AND EXISTS (SELECT FROM locked)
    RETURNING version
),
stream AS (
    SELECT version FROM created
    UNION ALL
    SELECT version FROM bumped
),
moved AS (
    SELECT coalesce(
        (SELECT version FROM locked) IS DISTINCT FROM (SELECT version FROM user_streams WHERE user_id = %(user_id)s),
        FALSE
    ) OR coalesce((SELECT NOT fresh FROM created), FALSE) AS moved
),
prior AS (
    SELECT v.user_id,
           coalesce(g.version, 0) AS version,
           g.target_weight_kg,
           g.target_weight_set_at,
           g.updated_at,
           coalesce(g.target_weight_kg IS NOT NULL
                    OR g.weekly_workouts IS NOT NULL
                    OR g.weekly_calories_burned IS NOT NULL, FALSE) AS active
    FROM (VALUES (%(user_id)s::text)) AS v(user_id)
    LEFT JOIN user_goals AS g USING (user_id)
    WHERE NOT (SELECT moved FROM moved)
),
event AS (
    INSERT INTO goal_events (user_id, version, event_type, data, actor, request_id, occurred_at, stream_position)
    SELECT user_id,
           version + 1,
           CASE WHEN %(clear)s THEN 'cleared' WHEN active THEN 'changed' ELSE 'set' END,
           %(data)s,
           %(actor)s,
           %(request_id)s,
           greatest(clock_timestamp(), updated_at),
           (SELECT version FROM stream)
    FROM prior
    RETURNING user_id, version, occurred_at
),
projected AS (
    INSERT INTO user_goals (user_id, target_weight_kg, target_date, target_weight_set_at, weekly_workouts,
                            weekly_calories_burned, version, updated_at)
    SELECT event.user_id,
           %(target_weight_kg)s::float8,
           %(target_date)s::date,
           CASE WHEN %(target_weight_kg)s::float8 IS NULL THEN NULL
                WHEN prior.target_weight_kg = %(target_weight_kg)s::float8 THEN prior.target_weight_set_at
                ELSE event.occurred_at END,
           %(weekly_workouts)s::integer,
           %(weekly_calories_burned)s::float8,
           event.version,
           event.occurred_at
    FROM event
    JOIN prior USING (user_id)
    ON CONFLICT (user_id) DO UPDATE
    SET target_weight_kg = EXCLUDED.target_weight_kg,
        target_date = EXCLUDED.target_date,
        target_weight_set_at = EXCLUDED.target_weight_set_at,
        weekly_workouts = EXCLUDED.weekly_workouts,
        weekly_calories_burned = EXCLUDED.weekly_calories_burned,
        version = EXCLUDED.version,
        updated_at = EXCLUDED.updated_at
    RETURNING user_id, target_weight_kg, target_date, target_weight_set_at, weekly_workouts, weekly_calories_burned,
              version, updated_at
)
SELECT moved.moved,
       prior.version,
       prior.active,
       projected.user_id,
       projected.target_weight_kg,
       projected.target_date,
       projected.target_weight_set_at,
       projected.weekly_workouts,
       projected.weekly_calories_burned,
       projected.version,
       projected.updated_at
FROM moved
LEFT JOIN (prior CROSS JOIN projected) ON TRUE
"""


def write(cursor: Cursor, user_id: str, goals: dict[str, Any] | None, actor: str, request_id: str | None) -> Written:
    """Take the user's lock, append a goals event (None: cleared) and project it: one statement, two if another
    write of the user committed while this one waited for the lock."""
    values = {name: (goals or {}).get(name) for name in GOAL_FIELDS}
    data = {name: (value.isoformat() if isinstance(value, date) else value) for name, value in values.items()}
    params = {
        "user_id": user_id,
        "clear": goals is None,
        "data": Json(data, dumps=json.dumps),
        "actor": actor,
        "request_id": request_id,
        **values,
    }
    cursor.execute(LOCK_AND_WRITE, params)
    row = one_row(cursor)
    if row[0]:  # moved: again, under the lock now held (the stream moves once more: its versions need not be dense)
        cursor.execute(LOCK_AND_WRITE, params)
        row = one_row(cursor)
        assert not row[0], "the user's lock is held: nothing can move the stream"
    return Written(goals=_goals_from_row(row[3:]), prior_version=row[1], prior_active=row[2])


def read(cursor: Cursor, user_id: str) -> Goals | None:
    """The user's goals; None when they have none (never set, or cleared)."""
    cursor.execute(
        f"SELECT {', '.join(GOAL_COLUMNS)} FROM user_goals WHERE user_id = %s AND (target_weight_kg IS NOT NULL"
        " OR weekly_workouts IS NOT NULL OR weekly_calories_burned IS NOT NULL)",
        (user_id,),
    )
    row = cursor.fetchone()
    return _goals_from_row(row) if row else None


def events(cursor: Cursor, user_id: str, after: int = 0, limit: int | None = None) -> list[GoalEvent]:
    """A user's goals events after version `after` (every one by default), oldest first, at most `limit` (None: all):
    a range of the (user_id, version) key."""
    cursor.execute(
        "SELECT user_id, version, event_type, data, actor, request_id, occurred_at"
        " FROM goal_events"
        " WHERE user_id = %(user_id)s AND version > %(after)s"
        " ORDER BY version"
        " LIMIT %(limit)s",
        {"user_id": user_id, "after": after, "limit": limit},
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
