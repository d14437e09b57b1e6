"""Time series for charts: a user's logs folded into day, ISO-week or month buckets, empty buckets included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from progress_tracking import authz
from progress_tracking.authz import Identity
from progress_tracking.db import Cursor, Database
from progress_tracking.errors import InvalidRequest
from progress_tracking.models import Series, SeriesEntry, SeriesQuery

MAX_BUCKETS = 400
DEFAULT_BUCKETS = 30
_STEP = {"day": "1 day", "week": "1 week", "month": "1 month"}

# The live logs of a user, or with as_of the logs as they stood then: the latest event of each log up to that moment,
# unless it is a deletion (the same fold the store's time travel uses).
_LIVE = "SELECT date, weight_kg, workout_done, calories_burned FROM progress_logs WHERE user_id = %(user_id)s"
_AS_OF = (
    "SELECT (data->>'date')::date AS date, (data->>'weight_kg')::float8 AS weight_kg,"
    " data->>'workout_done' AS workout_done, (data->>'calories_burned')::float8 AS calories_burned"
    " FROM (SELECT DISTINCT ON (log_id) event_type, data FROM progress_events"
    "  WHERE user_id = %(user_id)s AND occurred_at <= %(as_of)s ORDER BY log_id, version DESC) AS latest"
    " WHERE event_type <> 'deleted'"
)


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def shift(start: date, bucket: str, buckets: int) -> date:
    """The start of the bucket `buckets` away from the one starting at `start`."""
    if bucket == "week":
        return start + timedelta(weeks=buckets)
    if bucket == "month":
        months = start.year * 12 + start.month - 1 + buckets
        return date(months // 12, months % 12 + 1, 1)
    return start + timedelta(days=buckets)


def bucket_count(first: date, last: date, bucket: str) -> int:
    """How many buckets from the one starting at `first` to the one starting at `last`, both included."""
    if bucket == "week":
        return (last - first).days // 7 + 1
    if bucket == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first).days + 1


def series(database: Database, caller: Identity, user_id: str, query: SeriesQuery, today: date | None = None) -> Series:
    authz.ensure_may_act_for(caller, user_id)
    bucket = query.bucket
    # from and to are widened to whole buckets; without them, the 30 buckets ending today (UTC).
    last = bucket_start(query.date_to or today or datetime.now(UTC).date(), bucket)
    first = bucket_start(query.date_from, bucket) if query.date_from else shift(last, bucket, 1 - DEFAULT_BUCKETS)
    if first > last:
        raise InvalidRequest(
            "from must not be later than to (which defaults to today)",
            details=[{"field": "from", "message": "later than to"}],
        )
    count = bucket_count(first, last, bucket)
    if count > MAX_BUCKETS:
        raise InvalidRequest(
            f"from..to spans {count} {bucket} buckets; at most {MAX_BUCKETS} per call",
            details=[{"field": "from", "message": f"at most {MAX_BUCKETS} buckets per call"}],
        )
    end = shift(last, bucket, 1) - timedelta(days=1)
    rows = database.run(lambda cursor: _rows(cursor, user_id, bucket, first, last, end, query.as_of))
    entries = [
        SeriesEntry(
            start=start,
            end=shift(start, bucket, 1) - timedelta(days=1),
            logs=logs,
            workouts=workouts,
            total_calories_burned=round(calories, 2),
            average_weight_kg=None if average is None else round(average, 2),
            min_weight_kg=minimum,
            max_weight_kg=maximum,
        )
        for start, logs, workouts, calories, average, minimum, maximum in rows
    ]
    return Series(user_id=user_id, bucket=bucket, start=first, end=end, as_of=query.as_of, series=entries)


def _rows(
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
