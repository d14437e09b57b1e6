"""The goals' models: what PUT and PATCH accept, the goals answered, and the progress toward them a summary carries."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, model_validator

from progress_tracking.models.fields import (
    BODY_CONFIG,
    TargetDate,
    UtcDateTime,
    WeeklyCalories,
    WeeklyWorkouts,
    WeightKg,
    WeightLb,
)
from progress_tracking.models.log import HistoryEntry
from progress_tracking.units import kilograms

GOAL_FIELDS = ("target_weight_kg", "target_date", "weekly_workouts", "weekly_calories_burned")
NO_GOAL = "give at least one of target_weight_kg, weekly_workouts, weekly_calories_burned"
DATE_WITHOUT_WEIGHT = "target_date needs target_weight_kg"


def broken_goal_rule(
    target_weight_kg: float | None,
    target_date: date | None,
    weekly_workouts: int | None,
    weekly_calories_burned: float | None,
) -> tuple[str | None, str] | None:
    """The rule whole goals break, as (the field to name, the message); None when they keep every rule. A PUT's body
    is checked with it, and a PATCH's goals once merged."""
    if target_weight_kg is None and weekly_workouts is None and weekly_calories_burned is None:
        return None, NO_GOAL
    if target_date is not None and target_weight_kg is None:
        return "target_date", DATE_WITHOUT_WEIGHT
    return None


class GoalsPut(BaseModel):
    """Body of PUT /api/progress/goals/{user_id}: the user's goals, replacing the ones they had (absent = not set)."""

    model_config = BODY_CONFIG

    target_weight_kg: WeightKg | None = None
    # Instead of target_weight_kg. Stored in kg: answered in pounds rounded to 2 decimals, which gives back any target
    # given with at most 2 decimals exactly.
    target_weight_lb: WeightLb | None = None
    target_date: TargetDate | None = None  # only with a target weight
    weekly_workouts: WeeklyWorkouts | None = None  # workouts logged per ISO week
    weekly_calories_burned: WeeklyCalories | None = None  # calories burned per ISO week

    @model_validator(mode="after")
    def _is_a_goal(self) -> GoalsPut:
        if {"target_weight_kg", "target_weight_lb"} <= self.model_fields_set:
            raise ValueError("give the target weight as target_weight_kg or target_weight_lb, not both")
        weight = self.target_weight_kg if self.target_weight_kg is not None else self.target_weight_lb
        broken = broken_goal_rule(weight, self.target_date, self.weekly_workouts, self.weekly_calories_burned)
        if broken is not None:
            raise ValueError(broken[1])
        return self

    def goals(self) -> dict[str, Any]:
        """The goals as stored: the target weight in kg whichever unit it was given in."""
        goals = self.model_dump(exclude={"target_weight_lb"})
        if self.target_weight_lb is not None:
            goals["target_weight_kg"] = kilograms(self.target_weight_lb)
        return goals


class GoalsPatch(BaseModel):
    """Body of PATCH /api/progress/goals/{user_id}, a JSON Merge Patch (RFC 7396) of the goals: a member present sets
    its goal, null clears it, an absent one is left as it is. The goals after the merge keep PUT's rules."""

    model_config = BODY_CONFIG

    target_weight_kg: WeightKg | None = None
    target_date: TargetDate | None = None
    weekly_workouts: WeeklyWorkouts | None = None
    weekly_calories_burned: WeeklyCalories | None = None

    @model_validator(mode="after")
    def _changes_a_goal(self) -> GoalsPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of " + ", ".join(GOAL_FIELDS) + " (null clears it)")
        return self

    def members(self) -> dict[str, object]:
        """The members sent, as JSON values (a date as YYYY-MM-DD)."""
        return self.model_dump(mode="json", include=self.model_fields_set)


class Goals(BaseModel):
    user_id: str
    target_weight_kg: float | None = None  # absent from an answer in imperial units, which has target_weight_lb
    target_date: date | None
    target_weight_set_at: UtcDateTime | None
    weekly_workouts: int | None
    weekly_calories_burned: float | None
    version: int
    updated_at: UtcDateTime


class GoalsSet(BaseModel):
    message: str = "Goals set"
    goals: Goals


class GoalsCleared(BaseModel):
    message: str = "Goals cleared"
    user_id: str
    version: int


class GoalHistory(BaseModel):
    user_id: str
    events: list[HistoryEntry]
    next_cursor: str | None  # null on the last page


class WeightGoalProgress(BaseModel):
    """The *_kg fields are absent from an answer in imperial units, which has the same fields in *_lb instead."""

    target_weight_kg: float | None = None
    target_date: date | None
    set_on: date  # the UTC day target_weight_kg took its present value
    start_weight_kg: float | None = None
    start_date: date | None
    current_weight_kg: float | None = None
    current_date: date | None
    remaining_kg: float | None = None  # target − current
    fraction_done: float | None  # (current − start) / (target − start): 0 at the start, 1 at the target
    reached: bool | None
    trend_kg_per_week: float | None = None  # least squares over the 28 days ending at the latest weight log
    trend_points: int
    projected_date: date | None
    on_track: bool | None


class WeeklyGoalProgress(BaseModel):
    target: int | float
    week_start: date  # Monday of this ISO week (UTC)
    this_week: int | float
    completed_this_week: bool
    streak_weeks: int  # consecutive completed ISO weeks ending last week


class GoalsProgress(BaseModel):
    version: int
    weight: WeightGoalProgress | None = None
    weekly_workouts: WeeklyGoalProgress | None = None
    weekly_calories_burned: WeeklyGoalProgress | None = None
