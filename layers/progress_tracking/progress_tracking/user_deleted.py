"""The User Profile service's `UserDeleted` event, as EventBridge delivers it: the user's progress is erased.

The rule in the template matches the event's source and detail-type; here the detail is read. An event whose detail
names no user id raises `MalformedUserDeleted`, so the invocation fails and Lambda's retries and its on-failure queue
take it. A user of whom nothing is stored (unknown, or erased by an earlier delivery) is a no-op.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from progress_tracking import logs
from progress_tracking.db import Database

# Any id the User Profile service may use; ids this service could never have stored are simply not found. NUL cannot
# reach Postgres text.
DeletedUserId = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[^\x00]+$")]


class MalformedUserDeleted(Exception):
    """The event is not a UserDeleted this service can act on."""


class UserDeletedDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    user_id: DeletedUserId


def deleted_user_id(event: dict[str, Any]) -> str:
    try:
        return UserDeletedDetail.model_validate(event.get("detail")).user_id
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) or "detail" for error in exc.errors()})
        raise MalformedUserDeleted(f"UserDeleted event without a usable detail.user_id ({', '.join(fields)})") from exc


def erase_deleted_user(database: Database, event: dict[str, Any]) -> dict[str, int]:
    """Erase the deleted user's progress exactly as the admin erasure does; how much was erased (all 0: a no-op)."""
    return logs.erase_deleted_user(database, deleted_user_id(event))
