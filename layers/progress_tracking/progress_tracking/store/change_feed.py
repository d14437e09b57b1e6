"""The change feed's read: a page of one user's log and goals events after a stream position, with what its token
needs (the signing key, and the stream's first position, which tells an erasure since), in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from progress_tracking.db import Cursor, rows_by_name
from progress_tracking.store.statements import statement


@dataclass(frozen=True)
class FeedEvent:
    stream_position: int
    stream: str  # "log" or "goals"
    event_type: str
    log_id: int | None
    version: int
    data: dict[str, Any]
    occurred_at: datetime
    created_at: datetime | None  # the log's first event's time; None for goals


@dataclass(frozen=True)
class FeedRead:
    key: bytes
    first_position: int | None  # None: the user has no events (never wrote, or erased)
    events: list[FeedEvent]


def read_after(cursor: Cursor, user_id: str, after: int, limit: int) -> FeedRead:
    """At most `limit` of the user's events with a stream position above `after`, in stream order."""
    cursor.execute(statement("change_feed_page"), {"user_id": user_id, "after": after, "limit": limit})
    rows = rows_by_name(cursor)
    events = [
        FeedEvent(**{name: value for name, value in row.items() if name not in ("key", "first_position")})
        for row in rows
        if row["stream_position"] is not None
    ]
    return FeedRead(key=bytes(rows[0]["key"]), first_position=rows[0]["first_position"], events=events)
