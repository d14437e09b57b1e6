"""Request and response models: the one place where the API's fields and their bounds are written down."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

MEASUREMENT_FIELDS = ("weight_kg", "workout_done", "calories_burned")
MUTABLE_FIELDS = ("date", "weight_kg", "workout_done", "calories_burned", "notes")
EARLIEST_DATE = date(1900, 1, 1)
# The literal path words that win over {user_id} in the routes (as in API Gateway): such a user could never list.
RESERVED_USER_IDS = frozenset({"log", "summary", "user", "goals", "series"})
GOAL_FIELDS = ("target_weight_kg", "target_date", "weekly_workouts", "weekly_calories_burned")
# A target date may be a day behind UTC (users west of UTC) and at most about ten years ahead.
TARGET_DATE_HORIZON = timedelta(days=3660)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A number first-version clients send as a JSON string: digits, optionally signed, with an optional fraction.
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")


def _iso_date(value: Any) -> Any:
    """A date is `YYYY-MM-DD` and nothing else (no Unix timestamps, no times): parsed here, whatever the mode."""
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError("a date is YYYY-MM-DD")
        return date.fromisoformat(value)  # ValueError for 2026-02-30
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("a date is a YYYY-MM-DD string")


def _decimal_string(value: Any) -> Any:
    """`"71"` and `"71.5"` are numbers (first-version clients send them so); any other string is not."""
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise ValueError("must be a number (a string holding a plain decimal number is accepted)")
        return float(value)
    return value


def _unsigned_zero(value: float) -> float:
    return 0.0 if value == 0 else value  # -0.0 is stored and answered as 0


def _has_a_visible_character(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _not_reserved(value: str) -> str:
    if value in RESERVED_USER_IDS:
        raise ValueError(f"{value!r} is a reserved word of the API's paths and cannot be a user id")
    return value


def _not_after_tomorrow(value: date) -> date:
    # "Tomorrow" in UTC leaves room for users whose local day is ahead of UTC.
    if value > datetime.now(UTC).date() + timedelta(days=1):
        raise ValueError("date must not be later than tomorrow")
    if value < EARLIEST_DATE:
        raise ValueError(f"date must not be earlier than {EARLIEST_DATE.isoformat()}")
    return value


def _target_date_ahead(value: date) -> date:
    today = datetime.now(UTC).date()
    if value < today - timedelta(days=1):
        raise ValueError("target_date must not be in the past")
    if value > today + TARGET_DATE_HORIZON:
        raise ValueError("target_date must be within ten years")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:00-05:00 is past datetime.max in UTC
        raise ValueError("time out of range") from exc


# Postgres text cannot hold NUL, and other control characters (C0, DEL and C1) have no business in one-line fields.
# U+FFFD is what undecodable bytes become: never part of a real id.
UserId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f-\x9f\ufffd]+$"),
    AfterValidator(_not_reserved),
]
LogId = Annotated[int, Field(ge=1, le=2**63 - 1)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
LogDate = Annotated[IsoDate, AfterValidator(_not_after_tomorrow)]
WeightKg = Annotated[float, Field(gt=0, le=1000), BeforeValidator(_decimal_string)]
CaloriesBurned = Annotated[
    float, Field(ge=0, le=100_000), BeforeValidator(_decimal_string), AfterValidator(_unsigned_zero)
]
WorkoutDone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$"),
    AfterValidator(_has_a_visible_character),
]
Notes = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
TargetDate = Annotated[IsoDate, AfterValidator(_target_date_ahead)]
WeeklyWorkouts = Annotated[int, Field(ge=1, le=100)]
WeeklyCalories = Annotated[float, Field(gt=0, le=700_000)]
SeriesDate = Annotated[IsoDate, Field(ge=EARLIEST_DATE, le=date(2999, 12, 31))]

_BODY_CONFIG = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


class LogCreate(BaseModel):
    """Body of POST /api/progress/log. First-version clients send all of user_id, date and the three measurements."""

    model_config = _BODY_CONFIG

    user_id: UserId
    date: LogDate
    weight_kg: WeightKg | None = None
    workout_done: WorkoutDone | None = None
    calories_burned: CaloriesBurned | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _has_a_measurement(self) -> LogCreate:
        if all(getattr(self, name) is None for name in MEASUREMENT_FIELDS):
            raise ValueError(f"at least one of {', '.join(MEASUREMENT_FIELDS)} is required")
        return self


class LogUpdate(BaseModel):
    """Body of PUT /api/progress/log/{log_id}: any non-empty subset of the mutable fields; null clears one."""

    model_config = _BODY_CONFIG

    date: LogDate | None = None
    weight_kg: WeightKg | None = None
    workout_done: WorkoutDone | None = None
    calories_burned: CaloriesBurned | None = None
    notes: Notes | None = None

    @model_validator(mode="before")
    @classmethod
    def _user_id_is_immutable(cls, data: Any) -> Any:
        if isinstance(data, dict) and "user_id" in data:
            raise ValueError("user_id cannot be changed")
        return data

    @model_validator(mode="after")
    def _is_a_change(self) -> LogUpdate:
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(MUTABLE_FIELDS)}")
        if "date" in self.model_fields_set and self.date is None:
            raise ValueError("date cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class ListQuery(BaseModel):
    """Query string of GET /api/progress/{user_id}. Values arrive as strings, so this model is lax."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    date_from: Annotated[IsoDate | None, Field(alias="from")] = None
    date_to: Annotated[IsoDate | None, Field(alias="to")] = None
    # The logs as they stood at this moment (RFC 3339, with offset); normalised to UTC, which Postgres always takes.
    as_of: Annotated[AwareDatetime, AfterValidator(_utc)] | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> ListQuery:
        _check_range(self.date_from, self.date_to)
        return self


class SummaryQuery(BaseModel):
    """Query string of GET /api/progress/summary/{user_id}: an optional date range, computed on demand."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    date_from: Annotated[IsoDate | None, Field(alias="from")] = None
    date_to: Annotated[IsoDate | None, Field(alias="to")] = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> SummaryQuery:
        _check_range(self.date_from, self.date_to)
        return self


class DeleteUserLogsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    erase: bool = False  # true: hard erasure of every event and projection (needs admin:progress)


class RollbackRequest(BaseModel):
    """Body of POST /api/progress/log/{log_id}/rollback."""

    model_config = _BODY_CONFIG

    to_version: Annotated[int, Field(ge=1, le=2**31 - 1)]


class GoalsPut(BaseModel):
    """Body of PUT /api/progress/goals/{user_id}: the user's goals, replacing the ones they had (absent = not set)."""

    model_config = _BODY_CONFIG

    target_weight_kg: WeightKg | None = None
    target_date: TargetDate | None = None  # only with target_weight_kg
    weekly_workouts: WeeklyWorkouts | None = None  # workouts logged per ISO week
    weekly_calories_burned: WeeklyCalories | None = None  # calories burned per ISO week

    @model_validator(mode="after")
    def _is_a_goal(self) -> GoalsPut:
        if self.target_weight_kg is None and self.weekly_workouts is None and self.weekly_calories_burned is None:
            raise ValueError("give at least one of target_weight_kg, weekly_workouts, weekly_calories_burned")
        if self.target_date is not None and self.target_weight_kg is None:
            raise ValueError("target_date needs target_weight_kg")
        return self


class SeriesQuery(BaseModel):
    """Query string of GET /api/progress/series/{user_id}. from/to default to the 30 buckets ending today (UTC)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    bucket: Literal["day", "week", "month"] = "day"
    date_from: Annotated[SeriesDate | None, Field(alias="from")] = None
    date_to: Annotated[SeriesDate | None, Field(alias="to")] = None
    as_of: Annotated[AwareDatetime, AfterValidator(_utc)] | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> SeriesQuery:
        _check_range(self.date_from, self.date_to)
        return self


def _check_range(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise ValueError("from must not be later than to")


class ProgressLog(BaseModel):
    model_config = ConfigDict(frozen=True)

    log_id: int
    user_id: str
    date: date
    weight_kg: float | None
    workout_done: str | None
    calories_burned: float | None
    notes: str | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ProgressPage(BaseModel):
    user_id: str
    progress_logs: list[ProgressLog]
    next_cursor: str | None


class HistoryEntry(BaseModel):
    version: int
    type: str
    state: dict[str, Any]  # the log's fields after the event; for a deletion, the fields it was deleted with
    actor: str
    request_id: str | None
    occurred_at: UtcDateTime


class LogHistory(BaseModel):
    log_id: int
    user_id: str
    events: list[HistoryEntry]


class WeightGoalProgress(BaseModel):
    target_weight_kg: float
    target_date: date | None
    set_on: date  # the UTC day target_weight_kg took its present value
    start_weight_kg: float | None
    start_date: date | None
    current_weight_kg: float | None
    current_date: date | None
    remaining_kg: float | None  # target − current
    fraction_done: float | None  # (current − start) / (target − start): 0 at the start, 1 at the target
    reached: bool | None
    trend_kg_per_week: float | None  # least squares over the 28 days ending at the latest weight log
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
    workouts: dict[str, int] = Field(default_factory=dict)
    current_streak_days: int = 0
    longest_streak_days: int = 0
    goals: GoalsProgress | None = None  # progress toward the user's goals; null without goals or with from/to


class Goals(BaseModel):
    user_id: str
    target_weight_kg: float | None
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


class SeriesEntry(BaseModel):
    start: date
    end: date
    logs: int
    workouts: int
    total_calories_burned: float
    average_weight_kg: float | None
    min_weight_kg: float | None
    max_weight_kg: float | None


class Series(BaseModel):
    user_id: str
    bucket: str
    start: date  # first day of the first bucket
    end: date  # last day of the last bucket
    as_of: UtcDateTime | None
    series: list[SeriesEntry]


class LogCreated(BaseModel):
    message: str = "Progress logged successfully"
    id: int
    log: ProgressLog


class LogUpdated(BaseModel):
    message: str = "Progress log updated"
    updated_log: ProgressLog


class LogDeleted(BaseModel):
    message: str = "Progress log deleted"
    deleted_log_id: int


class UserLogsDeleted(BaseModel):
    message: str = "All progress logs for user deleted"
    deleted_log_count: int


class UserErased(BaseModel):
    message: str = "All progress data for user erased"
    erased: dict[str, int]


class LogRolledBack(BaseModel):
    message: str
    log: ProgressLog


class ErrorDetail(BaseModel):
    field: str | None
    message: str
    type: str | None = None


class ErrorBody(BaseModel):
    """Every error the service answers with; API Gateway's own 401/403 carry only `message`."""

    message: str
    code: str
    details: list[ErrorDetail] | None = None


IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]

user_id_adapter: TypeAdapter[str] = TypeAdapter(UserId)
idempotency_key_adapter: TypeAdapter[str] = TypeAdapter(IdempotencyKey)
log_id_adapter: TypeAdapter[int] = TypeAdapter(LogId)
