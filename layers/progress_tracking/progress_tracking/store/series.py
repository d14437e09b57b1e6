"""The series' SQL: a user's logs, live or as they stood at a moment, totalled per bucket, empty buckets included."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from progress_tracking.db import Cursor
from progress_tracking.store.columns import DATA_FIELDS

_STEP = {"day": "1 day", "week": "1 week", "month": "1 month"}
# The live logs of a user, or with as_of the states they were in at that moment (the same source time travel uses).
_LIVE = f"SELECT {', '.join(DATA_FIELDS)} FROM progress_logs WHERE user_id = %(user_id)s"
_AS_OF = (
    f"SELECT {', '.join(DATA_FIELDS)} FROM progress_log_versions"
    " WHERE user_id = %(user_id)s AND valid_from <= %(as_of)s AND valid_to > %(as_of)s"
)


def bucket_rows(
    cursor: Cursor, user_id: str, bucket: str, first: date, last: date, end: date, as_of: datetime | None
) -> list[tuple[Any, ...]]:
    """One row per bucket, empty ones included, in one statement."""
    source = _LIVE if as_of is None else _AS_OF
    cursor.execute(
        f"WITH logs AS (SELECT * FROM ({source}) AS source WHERE date >= %(first)s AND date <= %(end)s),"
        " totals AS (SELECT date_trunc(%(unit)s, date::timestamp)::date AS start, count(*) AS logs,"
        "  count(workout_done) AS workouts, coalesce(sum(calories_burned), 0) AS calories, avg(weight_kg) AS average,"
        "  min(weight_kg) AS minimum, max(weight_kg) AS maximum FROM logs GROUP BY 1)"
        " SELECT b.start, coalesce(t.logs, 0), coalesce(t.workouts, 0), coalesce(t.calories, 0), t.average,"
        "  t.minimum, t.maximum"
        " FROM (SELECT generate_series(%(first)s::timestamp, %(last)s::timestamp, %(step)s::interval)::date AS start)"
        "  AS b LEFT JOIN totals AS t USING (start) ORDER BY b.start",
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
