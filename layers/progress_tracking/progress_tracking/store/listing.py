"""A page of a user's logs: live from the projection, or as they stood at a moment, from their states in time."""

from __future__ import annotations

from datetime import date, datetime

from progress_tracking.db import Cursor, rows_by_name
from progress_tracking.models.log import ProgressLog
from progress_tracking.store.statements import statement


def list_logs(
    cursor: Cursor,
    user_id: str,
    *,
    after: tuple[date, int] | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    as_of: datetime | None = None,
    source: str | None = None,
) -> list[ProgressLog]:
    """A page of a user's logs, oldest first, by keyset on (date, log_id) so that every page costs the same.

    With `as_of`, the logs as they stood at that moment (`progress_log_versions`); with `source`, only its logs.
    """
    after_date, after_log_id = after or (None, None)
    cursor.execute(
        statement("list_page" if as_of is None else "list_page_as_of"),
        {
            "user_id": user_id,
            "as_of": as_of,
            "after_date": after_date,
            "after_log_id": after_log_id,
            "from": date_from,
            "to": date_to,
            "limit": limit,
            "source": source,
        },
    )
    return [ProgressLog(**row) for row in rows_by_name(cursor)]
