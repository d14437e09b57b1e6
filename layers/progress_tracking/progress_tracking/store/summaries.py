"""The summary projection's SQL: a summary's facts computed set-based in one statement, and stored with the stream
version they reflect without blocking writers.

Storing takes the user's stream row `FOR KEY SHARE`, and only at the version the facts were computed at: that lock
conflicts with an erasure (which locks the row `FOR UPDATE` and deletes it) but not with writers (`FOR NO KEY
UPDATE`). So a summary computed while the user is erased is never stored, and no reader makes a writer wait.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from progress_tracking.db import Cursor, one_row
from progress_tracking.store.goals import GOAL_FACTS_LATERAL, GoalFacts


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


# The facts of each user `u.user_id` of the outer query as one jsonb (`facts`), over the logs dated from..to. Every
# part is an index(-only) scan of the user's logs on (user_id, date); streaks are gaps and islands over distinct dates.
_SCOPE = "l.user_id = u.user_id AND l.date >= %(from)s AND l.date <= %(to)s"
_FACTS = (
    "jsonb_build_object('log_count', t.n, 'first_date', t.first_date, 'last_date', t.last_date,"
    " 'average_weight', t.avg_weight, 'min_weight', t.min_weight, 'max_weight', t.max_weight,"
    " 'first_weight', first_log.weight_kg, 'latest_weight', latest_log.weight_kg,"
    " 'average_calories', t.avg_calories, 'total_calories', t.total_calories,"
    " 'workouts', coalesce(t.workouts, '{{}}'), 'longest_streak', coalesce(streak.longest, 0),"
    " 'last_streak', coalesce(streak.last, 0), 'goals', {goals})"
)
_LATERALS = (
    # Totals and the workouts per kind in one index-only scan: grouped by the workout as stored, the totals then added
    # up from the few groups (sums and counts, so averages need no float8 accumulator of squares per log), and only
    # the few distinct texts folded to a kind (lower, trimmed): folding every row cost more than the rest of the scan.
    " CROSS JOIN LATERAL (SELECT coalesce(sum(n), 0) AS n, min(first_date) AS first_date,"
    "  max(last_date) AS last_date, min(min_weight) AS min_weight, max(max_weight) AS max_weight,"
    "  sum(weight_sum) / nullif(sum(weight_count), 0) AS avg_weight,"
    "  sum(calories_sum) / nullif(sum(calories_count), 0) AS avg_calories,"
    "  coalesce(sum(calories_sum), 0) AS total_calories,"
    "  (SELECT jsonb_object_agg(kind, n) FROM (SELECT lower(btrim(text)) AS kind, sum(n)::bigint AS n"
    "   FROM unnest(array_agg(workout_done), array_agg(n)) AS k(text, n) WHERE text IS NOT NULL GROUP BY 1) AS kinds)"
    "   AS workouts"
    "  FROM (SELECT workout_done, count(*) AS n, min(date) AS first_date, max(date) AS last_date,"
    "   sum(weight_kg) AS weight_sum, count(weight_kg) AS weight_count, min(weight_kg) AS min_weight,"
    "   max(weight_kg) AS max_weight, sum(calories_burned) AS calories_sum, count(calories_burned) AS calories_count"
    f"   FROM progress_logs AS l WHERE {_SCOPE} GROUP BY workout_done) AS g) AS t"
    " LEFT JOIN LATERAL (SELECT weight_kg FROM progress_logs AS l"
    f"  WHERE {_SCOPE} AND weight_kg IS NOT NULL ORDER BY date, log_id LIMIT 1) AS first_log ON TRUE"
    " LEFT JOIN LATERAL (SELECT weight_kg FROM progress_logs AS l"
    f"  WHERE {_SCOPE} AND weight_kg IS NOT NULL ORDER BY date DESC, log_id DESC LIMIT 1) AS latest_log ON TRUE"
    # Streaks: a streak starts on a date whose previous date logged (lag, in date order) is not the day before; it
    # ends on the date before the next start's (that start's lag), the last one on the last date. Only the few starts
    # go on past the one pass over the dates: no grouping or sorting per log.
    " CROSS JOIN LATERAL (SELECT max(coalesce(next_end, t.last_date) - start + 1) AS longest,"
    "  t.last_date - max(start) + 1 AS last"
    "  FROM (SELECT start, lead(before) OVER (ORDER BY start ROWS UNBOUNDED PRECEDING) AS next_end"
    "   FROM (SELECT date AS start, lag(date) OVER (ORDER BY date ROWS UNBOUNDED PRECEDING) AS before"
    f"    FROM progress_logs AS l WHERE {_SCOPE}) AS d WHERE before IS NULL OR before < start - 1) AS s) AS streak"
)


def _facts_of(users: str, *, goals: bool, versions: bool = False) -> str:
    """`SELECT u.user_id[, u.version], <facts>` for the users of the FROM item `users` (which names them `u`)."""
    facts = _FACTS.format(goals="goal.facts" if goals else "NULL::jsonb")
    return (
        f"SELECT u.user_id,{' u.version,' if versions else ''} {facts} AS facts"
        f" FROM {users}{_LATERALS}{GOAL_FACTS_LATERAL if goals else ''}"
    )


# Store fresh facts at the version they were computed at, only while the stream is still at that version (an erased
# user has no row; an erasure in flight holds FOR UPDATE, so this waits for it and then finds no row).
_STORE = (
    " locked AS (SELECT s.user_id, fresh.version, fresh.facts FROM user_streams AS s"
    "  JOIN fresh ON s.user_id = fresh.user_id AND s.version = fresh.version FOR KEY SHARE OF s),"
    " saved AS (INSERT INTO progress_summaries (user_id, stream_version, facts, computed_at)"
    "  SELECT user_id, version, facts, %(at)s FROM locked"
    "  ON CONFLICT (user_id) DO UPDATE SET stream_version = EXCLUDED.stream_version, facts = EXCLUDED.facts,"
    "   computed_at = EXCLUDED.computed_at WHERE progress_summaries.stream_version <= EXCLUDED.stream_version"
    "  RETURNING 1)"
)
_ALL_DATES = {"from": date.min, "to": date.max}


def summary_facts(
    cursor: Cursor, user_id: str, date_from: date | None = None, date_to: date | None = None
) -> SummaryFacts:
    """A user's facts over a date range (goals aside), computed and never stored: one statement."""
    cursor.execute(
        _facts_of("(SELECT %(user)s::text AS user_id) AS u", goals=False),
        {"user": user_id, "from": date_from or date.min, "to": date_to or date.max},
    )
    return SummaryFacts.model_validate(one_row(cursor)[1])


def current_or_fresh(cursor: Cursor, user_id: str, at: datetime) -> SummaryFacts:
    """The stored summary if it reflects the user's latest event, else fresh facts, stored on the way: one statement
    (the freshness check, and the computation only when it fails)."""
    cursor.execute(
        "WITH stream AS (SELECT version FROM user_streams WHERE user_id = %(user)s),"
        " stored AS (SELECT facts FROM progress_summaries WHERE user_id = %(user)s"
        "  AND stream_version = (SELECT version FROM stream)),"
        " fresh AS ("
        + _facts_of(
            "(SELECT %(user)s::text AS user_id, (SELECT version FROM stream) AS version"
            " WHERE NOT EXISTS (SELECT FROM stored)) AS u",
            goals=True,
            versions=True,
        )
        + "),"
        + _STORE
        + " SELECT coalesce((SELECT facts FROM stored), (SELECT facts FROM fresh))",
        {"user": user_id, "at": at, **_ALL_DATES},
    )
    return SummaryFacts.model_validate(one_row(cursor)[0])


def refresh_stale(cursor: Cursor, user_ids: list[str], at: datetime) -> int:
    """Recompute and store the summaries of those users whose stored one is not current, in one statement; how many
    were recomputed. Users without a stream (never logged, or erased) get none."""
    cursor.execute(
        "WITH fresh AS ("
        + _facts_of(
            "(SELECT s.user_id, s.version FROM user_streams AS s LEFT JOIN progress_summaries AS p USING (user_id)"
            " WHERE s.user_id = ANY(%(users)s) AND p.stream_version IS DISTINCT FROM s.version) AS u",
            goals=True,
            versions=True,
        )
        + "),"
        + _STORE
        + " SELECT count(*) FROM fresh",
        {"users": user_ids, "at": at, **_ALL_DATES},
    )
    return int(one_row(cursor)[0])


def stored_summary(cursor: Cursor, user_id: str) -> tuple[int, SummaryFacts] | None:
    cursor.execute("SELECT stream_version, facts FROM progress_summaries WHERE user_id = %s", (user_id,))
    row = cursor.fetchone()
    return (row[0], SummaryFacts.model_validate(row[1])) if row else None
