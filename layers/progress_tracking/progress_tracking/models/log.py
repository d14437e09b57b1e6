"""The log's models: what POST, PUT, rollback and the list's query accept, and the logs and pages answered."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from progress_tracking.models.fields import (
    BODY_CONFIG,
    AsOf,
    CaloriesBurned,
    ClientRecordId,
    ClientVersion,
    IsoDate,
    LogDate,
    Notes,
    QueryFlag,
    Source,
    UserId,
    UtcDateTime,
    WeightKg,
    WorkoutDone,
    check_range,
)

MEASUREMENT_FIELDS = ("weight_kg", "workout_done", "calories_burned")
MUTABLE_FIELDS = ("date", "weight_kg", "workout_done", "calories_burned", "notes")
# The Health Connect rule's fields (upserts): where the log came from, the device's id for it and that id's version.
CLIENT_RECORD_FIELDS = ("source", "client_record_id", "client_version")
DEFAULT_SOURCE = "manual"


def check_new_log(entry: LogCreate | LogItem) -> None:
    """What a new log (a POST's or a batch item's) must hold: a measurement, and a client record id with its version
    or neither (an id without a version could never be updated; a version without an id names nothing)."""
    if all(getattr(entry, name) is None for name in MEASUREMENT_FIELDS):
        raise ValueError(f"at least one of {', '.join(MEASUREMENT_FIELDS)} is required")
    if (entry.client_record_id is None) != (entry.client_version is None):
        raise ValueError("client_record_id and client_version go together: give both or neither")


class LogCreate(BaseModel):
    """Body of POST /api/progress/log. First-version clients send all of user_id, date and the three measurements."""

    model_config = BODY_CONFIG

    user_id: UserId
    date: LogDate
    weight_kg: WeightKg | None = None
    workout_done: WorkoutDone | None = None
    calories_burned: CaloriesBurned | None = None
    notes: Notes | None = None
    source: Source = DEFAULT_SOURCE
    client_record_id: ClientRecordId | None = None
    client_version: ClientVersion | None = None

    @model_validator(mode="after")
    def _is_a_log(self) -> LogCreate:
        check_new_log(self)
        return self


class LogItem(BaseModel):
    """One log of a batch upsert: a POST's body without the user_id, which the batch gives once."""

    model_config = BODY_CONFIG

    date: LogDate
    weight_kg: WeightKg | None = None
    workout_done: WorkoutDone | None = None
    calories_burned: CaloriesBurned | None = None
    notes: Notes | None = None
    source: Source = DEFAULT_SOURCE
    client_record_id: ClientRecordId | None = None
    client_version: ClientVersion | None = None

    @model_validator(mode="after")
    def _is_a_log(self) -> LogItem:
        check_new_log(self)
        return self


class LogUpdate(BaseModel):
    """Body of PUT /api/progress/log/{log_id}: any non-empty subset of the mutable fields; null clears one."""

    model_config = BODY_CONFIG

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


class PageQuery(BaseModel):
    """A page's query string: how many items at most, and the cursor of the page before. Values arrive as strings, so
    this model is lax. A page may end before `limit` items, to stay within the byte budget (paging)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

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
