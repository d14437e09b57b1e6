"""A page of a user's logs: live from the projection, or as they stood at a moment, from their states in time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from progress_tracking.db import Cursor
from progress_tracking.models.logs import ProgressLog
from progress_tracking.store.columns import LOG_COLUMNS, log_from_row


def _page_conditions(
    after: tuple[date, int] | None, date_from: date | None, date_to: date | None
) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    if after is not None:
        conditions.append("(date, log_id) > (%s, %s)")
        params.extend(after)
    if date_from is not None:
        conditions.append("date >= %s")
        params.append(date_from)
    if date_to is not None:
        conditions.append("date <= %s")
        params.append(date_to)
    return conditions, params


def list_logs(
    cursor: Cursor,
    user_id: str,
    *,
    after: tuple[date, int] | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    as_of: datetime | None = None,
) -> list[ProgressLog]:
    """A page of a user's logs, oldest first, by keyset on (date, log_id) so that every page costs the same.

    With `as_of`, the logs as they stood at that moment (`progress_log_versions`).
    """
    conditions, params = _page_conditions(after, date_from, date_to)
    source_params: list[Any]
    if as_of is None:
        source, source_params = "progress_logs WHERE user_id = %s", [user_id]
    else:  # the state each log was in at that moment: a keyset scan like the live page's, whatever the history
        source = "progress_log_versions WHERE user_id = %s AND valid_from <= %s AND valid_to > %s"
        source_params = [user_id, as_of, as_of]
    where = "".join(f" AND {condition}" for condition in conditions)
    columns = LOG_COLUMNS if as_of is None else [*LOG_COLUMNS[:-1], "valid_from"]
    cursor.execute(
        f"SELECT {', '.join(columns)} FROM {source}{where} ORDER BY date, log_id LIMIT %s",
        [*source_params, *params, limit],
    )
    return [log_from_row(row) for row in cursor.fetchall()]
