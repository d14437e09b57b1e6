"""The change feed's models: its query, its items (a log's state, a deleted log's tombstone, or the goals' state)
and its page."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from progress_tracking.models.fields import UtcDateTime
from progress_tracking.models.log import ProgressLog

ChangeKind = Literal[
    "log_created",
    "log_updated",
    "log_deleted",
    "log_restored",
    "goals_set",
    "goals_changed",
    "goals_cleared",
]


class ChangesQuery(BaseModel):
    """Query string of GET /api/progress/changes/{user_id}: the token of the page before (none: from the beginning)
    and how many changes at most. A page may end before `limit`, to stay within the byte budget (paging)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class DeletedLog(BaseModel):
    """What the feed says of a deleted log: its id, and that it is gone (a rollback can bring it back)."""

    log_id: int
    deleted: Literal[True] = True


class GoalsState(BaseModel):
    """The user's goals after a goals event (all null once cleared)."""

    user_id: str
    target_weight_kg: float | None
    target_date: date | None
    weekly_workouts: int | None
    weekly_calories_burned: float | None
    version: int
    updated_at: UtcDateTime


class Change(BaseModel):
    kind: ChangeKind
    stream_position: int  # the change's place in the user's stream: increasing, not dense
    occurred_at: UtcDateTime
    log_id: int | None  # null for goals
    log: ProgressLog | DeletedLog | None  # the log as of this change; null for goals
    goals: GoalsState | None  # the goals as of this change; null for a log


class ChangesPage(BaseModel):
    user_id: str
    changes: list[Change]
    next_token: str  # `since` for the next page; also when caught up, to ask again later
    more: bool  # whether more changes follow now
