"""A page of a user's export: its sections' items as they stood at one moment, in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from progress_tracking.db import Cursor
from progress_tracking.store.statements import statement

HEAD, LOGS, LOG_EVENTS, GOAL_EVENTS = range(4)


@dataclass(frozen=True)
class ExportRow:
    section: int
    date: date | None  # the logs' keyset is (date, log_id)
    key: int | None  # log_id, or the event's stream position
    item: dict[str, Any]


def export_rows(
    cursor: Cursor,
    user_id: str,
    *,
    as_of: datetime | None,
    with_summary: bool,
    first: int,
    last: int,
    after_date: date | None,
    after_key: int | None,
    limit: int,
) -> tuple[datetime, list[ExportRow]]:
    """The moment of the page (`as_of`, or the statement's time when None) and up to `limit` rows of each section from
    `first` to `last`, ordered by section then key; the first section continues after (`after_date`, `after_key`).
    The head (section 0, always there when `first` is 0) holds the goals, and the summary's facts `with_summary`."""
    cursor.execute(
        statement("export_page"),
        {
            "user_id": user_id,
            "as_of": as_of,
            "with_summary": with_summary,
            "first": first,
            "last": last,
            "after_date": after_date,
            "after_key": after_key or 0,
            "limit": limit,
        },
    )
    rows = cursor.fetchall()
    # A page after the first has its moment from the cursor; the first has at least its head.
    moment = rows[0][4] if rows else as_of
    assert moment is not None, "an export's first page has its head"
    return moment, [ExportRow(section, day, key, item) for section, day, key, item, _ in rows]
