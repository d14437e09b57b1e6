"""The domain events other services hear: their names, their `detail`, and the EventBridge entries that carry them.

One entry per event in the log. `event_id` is the event's position in the log (tombstones of erasures take theirs
from the same sequence): stable, unique, and the same every time the relay (re)publishes it, so consumers drop
duplicates by it. `stream_position` is the event's place in its user's stream: it only grows in the user's commit
order (an erasure included), so consumers order a user's events by it; within one log, `version` grows too.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from progress_tracking.units import unit_of
from progress_tracking.values import DEFAULT_SOURCE

SOURCE = "progress-tracking"

PROGRESS_LOGGED = "ProgressLogged"
PROGRESS_UPDATED = "ProgressUpdated"
PROGRESS_DELETED = "ProgressDeleted"
PROGRESS_RESTORED = "ProgressRestored"
USER_PROGRESS_ERASED = "UserProgressErased"

# The event log's event types and the names they are published under.
DETAIL_TYPES = {
    "logged": PROGRESS_LOGGED,
    "updated": PROGRESS_UPDATED,
    "deleted": PROGRESS_DELETED,
    "restored": PROGRESS_RESTORED,
}
# A log's fields in an event's detail: its weight in kg, and the unit and pounds it was entered in (migration 0018).
LOG_FIELDS = ("date", "weight_kg", "workout_done", "calories_burned", "notes", "weight_lb")


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def progress_detail(
    *,
    position: int,
    stream_position: int,
    log_id: int,
    user_id: str,
    version: int,
    data: dict[str, Any],
    request_id: str | None,
    occurred_at: datetime,
) -> dict[str, Any]:
    """A log's event: the log's state after it (for a deletion, the state that was deleted)."""
    return {
        "event_id": str(position),
        "stream_position": stream_position,
        "log_id": log_id,
        "user_id": user_id,
        "version": version,
        "occurred_at": _time(occurred_at),
        "request_id": request_id,
        # Events from before migration 0018 have no source or unit: every log was manual then, every weight in kg.
        "log": {name: data.get(name) for name in LOG_FIELDS}
        | {
            "weight_unit": unit_of(data.get("weight_kg"), data.get("weight_lb")),
            "source": data.get("source", DEFAULT_SOURCE),
            "device": data.get("device"),
        },
    }


def erased_detail(*, position: int, user_id: str, stream_position: int) -> dict[str, Any]:
    """An erasure says which user was erased, where in their stream, and nothing else about them."""
    return {"event_id": str(position), "stream_position": stream_position, "user_id": user_id}


def entry(detail_type: str, detail: dict[str, Any], bus_name: str) -> dict[str, Any]:
    """A PutEvents request entry."""
    return {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, separators=(",", ":"), ensure_ascii=False),
        "EventBusName": bus_name,
    }


def entry_size(request_entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it (Source, DetailType, Detail, Resources; Time is not set), plus the bus
    name to stay on the safe side."""
    fields = [request_entry["Source"], request_entry["DetailType"], request_entry["Detail"]]
    fields += [request_entry.get("EventBusName", ""), *request_entry.get("Resources", [])]
    return sum(len(field.encode()) for field in fields)
