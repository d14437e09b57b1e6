"""The log's models: what POST, PUT, rollback and the list's query accept, and the logs and pages answered."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field, model_validator

from progress_tracking.models.fields import (
    BODY_CONFIG,
    AsOf,
    CaloriesBurned,
    ClientRecordId,
    ClientVersion,
    Device,
    IsoDate,
    LogDate,
    Notes,
    QueryFlag,
    Source,
    UserId,
    UtcDateTime,
    WeightKg,
    WeightLb,
    WorkoutDone,
    check_range,
)
from progress_tracking.units import Units, kilograms, unit_of
from progress_tracking.values import DEFAULT_SOURCE

MEASUREMENT_FIELDS = ("weight_kg", "workout_done", "calories_burned")
MUTABLE_FIELDS = ("date", "weight_kg", "workout_done", "calories_burned", "notes")
# A log's state as its events keep it: the mutable fields, the pounds its weight was entered in (None: entered in kg;
# weight_kg holds the weight in kg either way), and where it came from (set by POST, never changed).
STATE_FIELDS = (*MUTABLE_FIELDS, "weight_lb", "source", "device")
WEIGHT_FIELDS = ("weight_kg", "weight_lb")  # a body gives one or the other
# The Health Connect rule's fields (upserts): the device's id for a record and that id's version. The id is unique per
# user and the log's `source`: the same column a log without an id has.
CLIENT_RECORD_FIELDS = ("client_record_id", "client_version")


def state_of(values: dict[str, Any]) -> dict[str, Any]:
    """A log's state fields out of `values` (a body's, an event's data): a mutable field left out is null; the fields
    of migration 0018 left out (events written before it) take ProgressLog's defaults: kg, manual, no device."""
    return {name: values.get(name) for name in MUTABLE_FIELDS} | {
        name: values[name] for name in STATE_FIELDS if name in values and name not in MUTABLE_FIELDS
    }


def _one_weight(body: BaseModel) -> None:
    if set(WEIGHT_FIELDS) <= body.model_fields_set:
        raise ValueError("give the weight as weight_kg or weight_lb, not both")


def check_new_log(entry: LogCreate | LogItem) -> None:
    """What a new log (a POST's or a batch item's) must hold: one weight at most (in kg or in lb), a measurement, and
    a client record id with its version or neither (an id without a version could never be updated; a version
    without an id names nothing)."""
    _one_weight(entry)
    if entry.weight_lb is None and all(getattr(entry, name) is None for name in MEASUREMENT_FIELDS):
        raise ValueError(f"at least one of {', '.join(MEASUREMENT_FIELDS)} (or weight_lb) is required")
    if (entry.client_record_id is None) != (entry.client_version is None):
        raise ValueError("client_record_id and client_version go together: give both or neither")


def new_log_state(entry: LogCreate | LogItem) -> dict[str, Any]:
    """A new log's state fields (STATE_FIELDS), its weight in kg whichever unit it was given in."""
    state = entry.model_dump(include=set(STATE_FIELDS))
    if entry.weight_lb is not None:
        state["weight_kg"] = kilograms(entry.weight_lb)
    return state


class LogCreate(BaseModel):
    """Body of POST /api/progress/log. First-version clients send all of user_id, date and the three measurements."""

    model_config = BODY_CONFIG

    user_id: UserId
    date: LogDate
    weight_kg: WeightKg | None = None
    weight_lb: WeightLb | None = None  # instead of weight_kg: answered back in pounds exactly as given
    workout_done: WorkoutDone | None = None
    calories_burned: CaloriesBurned | None = None
    notes: Notes | None = None
    source: Source = DEFAULT_SOURCE
    device: Device | None = None
    client_record_id: ClientRecordId | None = None
    client_version: ClientVersion | None = None

    @model_validator(mode="after")
    def _is_a_log(self) -> LogCreate:
        check_new_log(self)
        return self

    def state(self) -> dict[str, Any]:
        """The new log's state fields, its weight in kg whichever unit it was given in."""
        return new_log_state(self)


class LogItem(BaseModel):
    """One log of a batch upsert: a POST's body without the user_id, which the batch gives once (the same fields and
    rules, in the same order)."""

    model_config = BODY_CONFIG

    date: LogDate
    weight_kg: WeightKg | None = None
    weight_lb: WeightLb | None = None  # instead of weight_kg: answered back in pounds exactly as given
    workout_done: WorkoutDone | None = None
    calories_burned: CaloriesBurned | None = None
    notes: Notes | None = None
    source: Source = DEFAULT_SOURCE
    device: Device | None = None
    client_record_id: ClientRecordId | None = None
    client_version: ClientVersion | None = None

    @model_validator(mode="after")
    def _is_a_log(self) -> LogItem:
        check_new_log(self)
        return self

    def state(self) -> dict[str, Any]:
        """The new log's state fields, its weight in kg whichever unit it was given in."""
        return new_log_state(self)


class LogUpdate(BaseModel):
    """Body of PUT /api/progress/log/{log_id}: any non-empty subset of the mutable fields; null clears one."""

    model_config = BODY_CONFIG

    date: LogDate | None = None
    weight_kg: WeightKg | None = None
    weight_lb: WeightLb | None = None  # instead of weight_kg
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
            raise ValueError(f"give at least one of {', '.join(MUTABLE_FIELDS)} (or weight_lb)")
        if "date" in self.model_fields_set and self.date is None:
            raise ValueError("date cannot be null")
        _one_weight(self)
        return self

    def changes(self) -> dict[str, Any]:
        """The state fields this changes: a weight in pounds sets (or clears) weight_kg too."""
        changes = self.model_dump(include=self.model_fields_set)
        if "weight_lb" in changes:
            changes["weight_kg"] = None if self.weight_lb is None else kilograms(self.weight_lb)
        return changes


class UnitsQuery(BaseModel):
    """The units a read answers weights in: `metric` (kg, the default and what the API always answered) or
    `imperial` (lb)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    units: Annotated[Units, Field(description="metric: weights in kg (*_kg); imperial: in lb (*_lb)")] = "metric"


class PageQuery(UnitsQuery):
    """A page's query string: how many items at most, and the cursor of the page before. Values arrive as strings, so
    this model is lax. A page may end before `limit` items, to stay within the byte budget (paging)."""

    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None


class HistoryQuery(PageQuery):
    """Query string of a log's history and of the goals' history."""


class ListQuery(PageQuery):
    """Query string of GET /api/progress/{user_id}."""

    date_from: Annotated[IsoDate | None, Field(alias="from")] = None
    date_to: Annotated[IsoDate | None, Field(alias="to")] = None
    # The logs as they stood at this moment (RFC 3339, with offset); normalised to UTC, which Postgres always takes.
    as_of: AsOf | None = None
    source: Annotated[Source | None, Field(description="Only the logs from this source")] = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> ListQuery:
        check_range(self.date_from, self.date_to)
        return self


class DeleteUserLogsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    erase: QueryFlag = False  # true: hard erasure of every event and projection (needs admin:progress)


class RollbackRequest(BaseModel):
    """Body of POST /api/progress/log/{log_id}/rollback."""

    model_config = BODY_CONFIG

    to_version: Annotated[int, Field(ge=1, le=2**31 - 1)]


class ProgressLog(BaseModel):
    model_config = ConfigDict(frozen=True)

    log_id: int
    user_id: str
    date: date
    weight_kg: float | None = None  # absent from an answer in imperial units, which has weight_lb instead
    workout_done: str | None
    calories_burned: float | None
    notes: str | None
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime
    # Stored: the pounds the weight was entered in (None: entered in kg). Answered only with units=imperial, as the
    # weight, exactly as entered (units.in_units).
    weight_lb: Annotated[
        float | None, Field(description="With units=imperial, instead of weight_kg: exactly as entered in pounds")
    ] = None
    source: Annotated[str, Field(description="Where the log came from, e.g. manual, health-connect, withings")] = (
        DEFAULT_SOURCE
    )
    device: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def weight_unit(self) -> Literal["kg", "lb"] | None:
        """The unit the weight was entered in; null without a weight."""
        return unit_of(self.weight_kg, self.weight_lb)


class ProgressPage(BaseModel):
    user_id: str
    progress_logs: list[ProgressLog]
    next_cursor: str | None  # null on the last page


class HistoryEntry(BaseModel):
    """An event as a history shows it; built from a stored event's attributes (`event_type` → type, `data` → state)."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    version: int
    type: str = Field(validation_alias="event_type")
    state: dict[str, Any] = Field(validation_alias="data")  # the fields after the event (a deletion: those it removed)
    actor: str
    request_id: str | None
    occurred_at: UtcDateTime


class LogHistory(BaseModel):
    log_id: int
    user_id: str
    events: list[HistoryEntry]
    next_cursor: str | None  # null on the last page


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
