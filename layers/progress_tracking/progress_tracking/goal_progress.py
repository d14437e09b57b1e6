"""Progress toward a user's goals, from their goal facts (what the logs say, independent of today: models.facts) and
today's date. docs/api.md spells out every number with a worked example."""

from __future__ import annotations

import math
from datetime import UTC, date, timedelta

from progress_tracking.models.facts import GoalFacts
from progress_tracking.models.goal import GoalsProgress, WeeklyGoalProgress, WeightGoalProgress
from progress_tracking.values import rounded

# A projection further away than this is no projection.
PROJECTION_HORIZON_DAYS = 36_500


def progress(facts: GoalFacts, today: date) -> GoalsProgress:
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


def weight_progress(facts: GoalFacts) -> WeightGoalProgress:
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
