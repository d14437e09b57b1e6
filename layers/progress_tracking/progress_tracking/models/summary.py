"""The summary's and the series' models: their query strings and what they answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from progress_tracking.models.fields import AsOf, IsoDate, SeriesDate, UtcDateTime, check_range
from progress_tracking.models.goal import GoalsProgress
from progress_tracking.models.log import UnitsQuery

MAX_WORKOUT_KINDS = 100  # at the bound of 200 characters, in the costliest characters: 81 KB of a summary


class SummaryQuery(UnitsQuery):
    """Query string of GET /api/progress/summary/{user_id}: an optional date range, computed on demand."""

    date_from: Annotated[IsoDate | None, Field(alias="from")] = None
    date_to: Annotated[IsoDate | None, Field(alias="to")] = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> SummaryQuery:
        check_range(self.date_from, self.date_to)
        return self


class Summary(BaseModel):
    user_id: str
    log_count: int = 0
    first_date: date | None = None
    last_date: date | None = None
    average_weight: float | None = None
    latest_weight_kg: float | None = None
    weight_change_kg: float | None = None
    min_weight_kg: float | None = None
    max_weight_kg: float | None = None
    average_calories_burned: float | None = None
    total_calories_burned: float = 0
    # Logs per kind of workout, for the MAX_WORKOUT_KINDS most logged kinds (ties: by name): a user may log thousands
    # of different texts, which would take the answer past the byte budget (response_size).
    workouts: dict[str, int] = Field(default_factory=dict)
    workout_kinds: int = 0  # how many kinds were logged: more than `workouts` holds when it is cut short
    other_workouts: int = 0  # the logs of the kinds left out of `workouts`
    current_streak_days: int = 0
    longest_streak_days: int = 0
    goals: GoalsProgress | None = None  # progress toward the user's goals; null without goals or with from/to


class SeriesQuery(UnitsQuery):
    """Query string of GET /api/progress/series/{user_id}. from/to default to the 30 buckets ending today (UTC)."""

    bucket: Literal["day", "week", "month"] = "day"
    date_from: Annotated[SeriesDate | None, Field(alias="from")] = None
    date_to: Annotated[SeriesDate | None, Field(alias="to")] = None
    as_of: AsOf | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> SeriesQuery:
        check_range(self.date_from, self.date_to)
        return self


class SeriesEntry(BaseModel):
    start: date
    end: date
    logs: int
    workouts: int
    total_calories_burned: float
    # Absent from an answer in imperial units, which has average_weight_lb, min_weight_lb, max_weight_lb instead.
    average_weight_kg: float | None = None
    min_weight_kg: float | None = None
    max_weight_kg: float | None = None


class Series(BaseModel):
    user_id: str
    bucket: str
    start: date  # first day of the first bucket
    end: date  # last day of the last bucket
    as_of: UtcDateTime | None
    series: list[SeriesEntry]
