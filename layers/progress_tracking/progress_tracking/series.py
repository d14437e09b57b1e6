"""Time series for charts: a user's logs folded into day, ISO-week or month buckets, empty buckets included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from progress_tracking import authz
from progress_tracking.authz import Identity
from progress_tracking.db import Database
from progress_tracking.errors import InvalidRequest
from progress_tracking.models.summary import Series, SeriesEntry, SeriesQuery
from progress_tracking.store import buckets
from progress_tracking.values import rounded

MAX_BUCKETS = 400
DEFAULT_BUCKETS = 30


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
    rows = database.single(lambda cursor: buckets.bucket_rows(cursor, user_id, bucket, first, last, end, query.as_of))
    entries = [
        SeriesEntry(
            start=start,
            end=shift(start, bucket, 1) - timedelta(days=1),
            logs=logs,
            workouts=workouts,
            total_calories_burned=rounded(calories, 2),
            average_weight_kg=None if average is None else rounded(average, 2),
            min_weight_kg=minimum,
            max_weight_kg=maximum,
        )
        for start, logs, workouts, calories, average, minimum, maximum in rows
    ]
    return Series(user_id=user_id, bucket=bucket, start=first, end=end, as_of=query.as_of, series=entries)
