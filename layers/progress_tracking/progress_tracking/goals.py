"""Users' goals: the operations on them (ownership rules, then one transaction) and progress toward them.

Progress is computed from `store.goals.GoalFacts` (what the logs say, independent of today) and today's date; the
README spells out every number with a worked example.
"""

from __future__ import annotations

import math
from datetime import UTC, date, timedelta
from typing import TYPE_CHECKING

from progress_tracking import authz, paging
from progress_tracking.authz import Identity
from progress_tracking.db import Cursor, Database
from progress_tracking.errors import GoalsNotFound, PreconditionFailed, UnknownUser
from progress_tracking.models.fields import rounded
from progress_tracking.models.goal import (
    GoalHistory,
    Goals,
    GoalsProgress,
    GoalsPut,
    WeeklyGoalProgress,
    WeightGoalProgress,
)
from progress_tracking.models.log import HistoryEntry, HistoryQuery
from progress_tracking.store import goal_events

if TYPE_CHECKING:
    # Only for the signature: the User Profile client (and requests with it) loads only where a handler calls it.
    from progress_tracking.user_service import UserServiceClient

# A projection further away than this is no projection.
PROJECTION_HORIZON_DAYS = 36_500


def _check_version(expected_versions: frozenset[int] | None, written: goal_events.Written) -> None:
    """If-Match: None means no condition; otherwise the goals must exist at one of the versions."""
    if expected_versions is None:
        return
    if not written.prior_active:
        raise PreconditionFailed("The user has no goals to match; nothing was written")
    if written.prior_version not in expected_versions:
        raise PreconditionFailed(f"The goals are at version {written.prior_version}; nothing was written")


def set_goals(
    database: Database,
    users: UserServiceClient,
    caller: Identity,
    user_id: str,
    body: GoalsPut,
    request_id: str | None,
    expected_versions: frozenset[int] | None = None,
) -> Goals:
    authz.ensure_may_act_for(caller, user_id)
    # Asked before the transaction opens: no database connection is held while another service answers.
    if not users.user_exists(user_id):
        raise UnknownUser()

    def work(cursor: Cursor) -> Goals:
        written = goal_events.write(cursor, user_id, body.model_dump(), caller.principal, request_id)
        _check_version(expected_versions, written)
        return written.goals

    return database.run(work)


def clear_goals(
    database: Database,
    caller: Identity,
    user_id: str,
    request_id: str | None,
    expected_versions: frozenset[int] | None = None,
) -> Goals:
    authz.ensure_may_act_for(caller, user_id)

    def work(cursor: Cursor) -> Goals:
        written = goal_events.write(cursor, user_id, None, caller.principal, request_id)
        if not written.prior_active:  # raising rolls the cleared event back
            raise GoalsNotFound()
        _check_version(expected_versions, written)
        return written.goals

    return database.run(work)


def get_goals(database: Database, caller: Identity, user_id: str) -> Goals:
    authz.ensure_may_act_for(caller, user_id)
    goals = database.single(lambda cursor: goal_events.read(cursor, user_id))
    if goals is None:
        raise GoalsNotFound()
    return goals


def goal_history(database: Database, caller: Identity, user_id: str, query: HistoryQuery) -> GoalHistory:
    """A page of the goals' events, oldest first, paged like the list."""
    authz.ensure_may_act_for(caller, user_id)
    after = paging.after_in_history("goal_history", query.cursor) if query.cursor else 0
    # One row more than asked tells whether another page follows.
    events = database.single(lambda cursor: goal_events.events(cursor, user_id, after, query.limit + 1))
    if not events:
        raise GoalsNotFound("The user never had goals")
    page, more = paging.fit([HistoryEntry.model_validate(event) for event in events], query.limit)
    next_cursor = paging.history_cursor("goal_history", page[-1].version) if more else None
    return GoalHistory(user_id=user_id, events=page, next_cursor=next_cursor)


# --- progress ----------------------------------------------------------------------------------------------------


def progress(facts: goal_events.GoalFacts, today: date) -> GoalsProgress:
    monday = today - timedelta(days=today.weekday())
    workouts = {week: count for week, count, _ in facts.weeks}
    calories = {week: total for week, _, total in facts.weeks}
    return GoalsProgress(
        version=facts.version,
        weight=weight_progress(facts) if facts.target_weight_kg is not None else None,
        weekly_workouts=None
        if facts.weekly_workouts is None
        else weekly_progress(
            facts.weekly_workouts, workouts, monday, facts.weeks_from, facts.workouts_weeks_met_before
        ),
        weekly_calories_burned=None
        if facts.weekly_calories_burned is None
        else weekly_progress(
            facts.weekly_calories_burned, calories, monday, facts.weeks_from, facts.calories_weeks_met_before
        ),
    )


def weekly_progress(
    target: float,
    per_week: dict[date, int] | dict[date, float],
    monday: date,
    weeks_from: date | None = None,
    met_before: int = 0,
) -> WeeklyGoalProgress:
    """This ISO week against the target, and the completed weeks in a row that end with last week. `per_week` holds
    the weeks from `weeks_from` on (None: every week); `met_before` is the run of completed weeks that ends the week
    before `weeks_from`, which the streak goes on with when it reaches that far."""
    streak, week = 0, monday - timedelta(days=7)
    while (weeks_from is None or week >= weeks_from) and per_week.get(week, 0) >= target:
        streak, week = streak + 1, week - timedelta(days=7)  # target > 0: a week without logs ends the streak
    if weeks_from is not None and week < weeks_from:
        streak += met_before
    this_week = per_week.get(monday, 0)
    return WeeklyGoalProgress(
        target=target,
        week_start=monday,
        this_week=rounded(this_week, 2),
        completed_this_week=this_week >= target,
        streak_weeks=streak,
    )


def weight_progress(facts: goal_events.GoalFacts) -> WeightGoalProgress:
    target, start, current = facts.target_weight_kg, facts.start_weight, facts.current_weight
    assert target is not None and facts.target_weight_set_at is not None
    slope = facts.trend_slope_per_day
    reached: bool | None = None
    fraction: float | None = None
    if start is not None and current is not None:
        if target < start:
            reached = current <= target
        elif target > start:
            reached = current >= target
        else:
            reached = round(current, 2) == round(target, 2)
        if target != start:
            fraction = rounded((current - start) / (target - start), 3)
    projected = None
    if current is not None and facts.current_date is not None and slope and not reached:
        days_needed = (target - current) / slope  # negative: the trend points away from the target
        if 0 < days_needed <= PROJECTION_HORIZON_DAYS:
            projected = facts.current_date + timedelta(days=math.ceil(round(days_needed, 6)))
    on_track: bool | None = None
    if facts.target_date is not None and reached is not None:
        if reached:
            on_track = True
        elif projected is not None:
            on_track = projected <= facts.target_date
        elif slope is not None:
            on_track = False  # flat, or heading away from the target
    return WeightGoalProgress(
        target_weight_kg=target,
        target_date=facts.target_date,
        set_on=facts.target_weight_set_at.astimezone(UTC).date(),
        start_weight_kg=start,
        start_date=facts.start_date,
        current_weight_kg=current,
        current_date=facts.current_date,
        remaining_kg=None if current is None else rounded(target - current, 2),
        fraction_done=fraction,
        reached=reached,
        trend_kg_per_week=None if slope is None else rounded(slope * 7, 3),
        trend_points=facts.trend_points,
        projected_date=projected,
        on_track=on_track,
    )
