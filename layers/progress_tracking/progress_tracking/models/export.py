"""The export's and the import's models: their query strings, the pages an export answers, what an import reads and
answers (the format: docs/export-format.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from progress_tracking.models.fields import (
    AsOf,
    IsoDate,
    QueryFlag,
    UtcDateTime,
    WeeklyCalories,
    WeeklyWorkouts,
    WeightKg,
)
from progress_tracking.models.log import ProgressLog
from progress_tracking.models.summary import Summary
from progress_tracking.models.upsert import Outcome

# Raised when the format changes in a way a reader must know of (a field renamed or its meaning changed); a field
# added keeps the version, and readers ignore fields they do not know.
FORMAT_VERSION = 1
# The columns of `format=csv`, in order; the unit is in the name, dates are YYYY-MM-DD, times RFC 3339 UTC. log_id,
# version, created_at and updated_at are identity: another import gives them other values. The units' and sources'
# columns (migration 0018) come last, so that a reader of the first columns by position reads them as before.
CSV_COLUMNS = (
    "log_id",
    "date",
    "weight_kg",
    "workout_done",
    "calories_burned",
    "notes",
    "version",
    "created_at",
    "updated_at",
    "weight_lb",
    "weight_unit",
    "source",
    "device",
)


class ExportQuery(BaseModel):
    """Query string of GET /api/progress/export/{user_id}. A page ends at `limit` items or earlier, by bytes; the
    cursor of the page before carries the moment and format of the first (as_of and format then change nothing)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    format: Literal["json", "csv"] = "json"
    as_of: AsOf | None = None  # the data as it stood then (RFC 3339 with offset); absent: now, pinned by page one
    limit: Annotated[int, Field(ge=1, le=20_000)] = 10_000
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None


class ExportedLogEvent(BaseModel):
    position: int  # the user's stream position: the order of every event of the user's logs and goals
    log_id: int
    version: int
    type: str
    state: dict[str, Any]  # the log's fields after the event (a deletion: those it removed)
    actor: str
    request_id: str | None
    occurred_at: UtcDateTime


class ExportedGoalEvent(BaseModel):
    position: int
    version: int
    type: str
    state: dict[str, Any]
    actor: str
    request_id: str | None
    occurred_at: UtcDateTime


class ExportedGoals(BaseModel):
    """The goals as they stood at the export's moment (target_date may be past by then)."""

    target_weight_kg: float | None
    target_date: date | None
    weekly_workouts: int | None
    weekly_calories_burned: float | None
    version: int
    updated_at: UtcDateTime


class ExportPage(BaseModel):
    """A page of an export. Page 1 carries the goals and the summary; every page carries its share of the logs, then
    of the logs' events, then of the goals' events, in that order."""

    format_version: int = FORMAT_VERSION
    user_id: str
    as_of: UtcDateTime  # the moment every page shows
    page: int
    summary: Summary | None  # page 1 of an export of the present; null otherwise (a past summary is not kept)
    goals: ExportedGoals | None  # page 1; null when the user had no goals then, and on later pages
    logs: list[ProgressLog]
    log_events: list[ExportedLogEvent]
    goal_events: list[ExportedGoalEvent]
    next_cursor: str | None  # null on the last page


class ImportDocument(BaseModel):
    """What an import reads of a JSON export (one page of it, or its pages' logs joined): the rest (events, summary,
    cursor) is ignored. Each log is validated as a POST's is, by `import_files`, which names every bad one by index."""

    model_config = ConfigDict(extra="allow")

    format_version: Literal[1]
    logs: list[dict[str, Any]]  # exported logs: log_id and version identify each, the rest are its fields
    goals: dict[str, Any] | None = None  # page 1's goals: set too, unless the user has the same already


class ImportQuery(BaseModel):
    """Query string of POST /api/progress/import/{user_id}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Absent: JSON when the body is a JSON object (or Content-Type says so), else CSV of the format its header names.
    format: Literal["json", "csv", "openscale", "wger"] | None = None
    dry_run: QueryFlag = False  # true: validate the whole file and answer the plan, writing nothing


class ImportedGoals(BaseModel):
    """The goals of an imported export, as they stood then: a target date may have passed since."""

    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)

    target_weight_kg: WeightKg | None = None
    target_date: IsoDate | None = None
    weekly_workouts: WeeklyWorkouts | None = None
    weekly_calories_burned: WeeklyCalories | None = None


GoalsOutcome = Literal["created", "updated", "unchanged"]


class ImportItem(BaseModel):
    """What the import did (or, in a dry run, would do) with one log of the file."""

    line: int | None = Field(default=None, exclude_if=lambda value: value is None)  # CSV: the row's line
    index: int | None = Field(default=None, exclude_if=lambda value: value is None)  # JSON: the index in `logs`
    client_record_id: str
    outcome: Outcome  # the batch upsert's: created, updated, restored (a deleted log back) or unchanged
    log_id: int | None  # the log written or left (null for a log a dry run would create)


class ImportResult(BaseModel):
    message: str
    user_id: str
    format: Literal["json", "csv", "openscale", "wger"]
    dry_run: bool
    created: int
    updated: int
    restored: int
    unchanged: int
    goals: GoalsOutcome | None  # null when the file holds no goals
    items: list[ImportItem]
