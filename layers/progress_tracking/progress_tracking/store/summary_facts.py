"""The summary projection's SQL: a summary's facts, folded from the user's months (or read from the logs of a date
range), and stored with the stream version they reflect without blocking writers. The fold, the goal facts and the
store are functions of migration 0016, written once and called by the statements here."""

from __future__ import annotations

import math
from datetime import date, datetime

from pydantic import BaseModel

from progress_tracking.db import Cursor, one_row
from progress_tracking.store.goal_events import GoalFacts
from progress_tracking.store.statements import statement


class SummaryFacts(BaseModel):
    """What the database knows about a user's logs; the API's summary is derived from it (with today's date)."""

    log_count: int
    first_date: date | None
    last_date: date | None
    average_weight: float | None
    min_weight: float | None
    max_weight: float | None
    first_weight: float | None
    latest_weight: float | None
    average_calories: float | None
    total_calories: float
    workouts: dict[str, int]
    longest_streak: int
    last_streak: int
    goals: GoalFacts | None = None  # the user's goals and what the logs say about them (store.goals)

    def agrees_with(self, other: SummaryFacts) -> bool:
        """Equal, but for the last bits of the averages and the total calories: sums of floats depend on the order
        they were added in, and a summary folded from months' sums adds them in another order than one from the logs."""
        mine, theirs = self.model_dump(), other.model_dump()
        for name in ("average_weight", "average_calories", "total_calories"):
            a, b = mine.pop(name), theirs.pop(name)
            if (a is None) != (b is None) or (a is not None and not math.isclose(a, b, rel_tol=1e-9)):
                return False
        return mine == theirs


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
