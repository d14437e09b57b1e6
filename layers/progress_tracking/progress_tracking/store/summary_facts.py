"""The summary projection's SQL: a summary's facts, folded from the user's months (or read from the logs of a date
range), and stored with the stream version they reflect without blocking writers. The fold, the goal facts and the
store are functions of migration 0016, written once and called by the statements here."""

from __future__ import annotations

from datetime import date, datetime

from progress_tracking.db import Cursor, one_row
from progress_tracking.models.facts import SummaryFacts
from progress_tracking.store.statements import statement


def facts_in_range(
    cursor: Cursor, user_id: str, date_from: date | None = None, date_to: date | None = None
) -> SummaryFacts:
    """A user's facts over a date range (goals aside), read from the logs in it and never stored: one statement."""
    cursor.execute(
        statement("ranged_summary"),
        {"user_id": user_id, "from": date_from or date.min, "to": date_to or date.max},
    )
    return SummaryFacts.model_validate(one_row(cursor)[0])


def current_or_fresh(cursor: Cursor, user_id: str, at: datetime) -> SummaryFacts:
    """The stored summary if it reflects the user's latest event, else facts folded from the user's months, stored
    on the way: one statement, the read function of migration 0016."""
    cursor.execute(statement("read_summary"), {"user_id": user_id, "at": at})
    return SummaryFacts.model_validate(one_row(cursor)[0])


def refresh_stale(cursor: Cursor, user_ids: list[str], at: datetime) -> int:
    """Recompute and store the summaries of those users whose stored one is not current, in one set-based statement;
    how many were recomputed. Users without a stream (never logged, or erased) get none."""
    cursor.execute(statement("refresh_stale_summaries"), {"user_ids": user_ids, "at": at})
    return int(one_row(cursor)[0])


def stored_summary(cursor: Cursor, user_id: str) -> tuple[int, SummaryFacts] | None:
    cursor.execute(statement("stored_summary"), {"user_id": user_id})
    row = cursor.fetchone()
    return (row[0], SummaryFacts.model_validate(row[1])) if row else None
