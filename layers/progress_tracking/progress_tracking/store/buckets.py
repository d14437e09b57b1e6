"""The series' SQL: a user's logs, live or as they stood at a moment, totalled per bucket, empty buckets included."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from progress_tracking.db import Cursor
from progress_tracking.store.statements import statement

_STEP = {"day": "1 day", "week": "1 week", "month": "1 month"}


def bucket_rows(
    cursor: Cursor, user_id: str, bucket: str, first: date, last: date, end: date, as_of: datetime | None
) -> list[tuple[Any, ...]]:
    """One row per bucket, empty ones included, in one statement."""
    cursor.execute(
        statement("series_buckets"),
        {
            "user_id": user_id,
            "as_of": as_of,
            "first": first,
            "last": last,
            "end": end,
            "unit": bucket,
            "step": _STEP[bucket],
        },
    )
    return cursor.fetchall()
