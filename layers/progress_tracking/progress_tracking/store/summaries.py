"""The summary projection's SQL: a summary's facts folded set-based from the users' months in one statement, and
stored with the stream version they reflect without blocking writers.

Storing takes the user's stream row `FOR KEY SHARE`, and only at the version the facts were computed at: that lock
conflicts with an erasure (which locks the row `FOR UPDATE` and deletes it) but not with writers (`FOR NO KEY
UPDATE`). So a summary computed while the user is erased is never stored, and no reader makes a writer wait.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from pydantic import BaseModel

from progress_tracking.db import Cursor, one_row
from progress_tracking.store.goals import GOAL_FACTS_LATERAL, GoalFacts
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


def _facts_json(parts: dict[str, str], goals: str) -> str:
    """A summary's facts as one jsonb, from its parts (SQL expressions by name). Averages are divided as numeric
    (from the sum's exact text, not float8's 15-digit cast): float8 division raises when its result underflows to
    zero, as a sum of subnormal calories divided by a count does."""
    p = {name: f"({expression})" for name, expression in parts.items()}  # each part whole within larger expressions
    return (
        f"jsonb_build_object('log_count', {p['n']}, 'first_date', {p['first_date']}, 'last_date', {p['last_date']},"
        f" 'average_weight', {p['weight_sum']}::text::numeric / nullif({p['weight_count']}, 0),"
        f" 'min_weight', {p['min_weight']}, 'max_weight', {p['max_weight']},"
        f" 'first_weight', {p['first_weight']}, 'latest_weight', {p['latest_weight']},"
        f" 'average_calories', {p['calories_sum']}::text::numeric / nullif({p['calories_count']}, 0),"
        f" 'total_calories', {p['calories_sum']}, 'workouts', {p['workouts']},"
        f" 'longest_streak', {p['longest']}, 'last_streak', {p['last']}, 'goals', {goals})"
    )


# The facts of each user `u.user_id` of the outer query over the logs dated from..to, read from those logs (a ranged
# summary). Every part is an index(-only) scan of the user's logs on (user_id, date); streaks are gaps and islands
# over distinct dates.
_SCOPE = "l.user_id = u.user_id AND l.date >= %(from)s AND l.date <= %(to)s"
_FROM_LOGS = {
    "n": "t.n",
    "first_date": "t.first_date",
    "last_date": "t.last_date",
    "weight_count": "t.weight_count",
    "weight_sum": "t.weight_sum",
    "min_weight": "t.min_weight",
    "max_weight": "t.max_weight",
    "first_weight": "first_log.weight_kg",
    "latest_weight": "latest_log.weight_kg",
    "calories_count": "t.calories_count",
    "calories_sum": "t.calories_sum",
    "workouts": "coalesce(t.workouts, '{}')",
    "longest": "coalesce(streak.longest, 0)",
    "last": "coalesce(streak.last, 0)",
}
_LOGS_LATERALS = (
    # Totals and the workouts per kind in one index-only scan: grouped by the workout as stored, the totals then added
    # up from the few groups, and only the few distinct texts folded to a kind (progress_workout_kind): folding every
    # row cost more than the rest of the scan.
    " CROSS JOIN LATERAL (SELECT coalesce(sum(n), 0) AS n, min(first_date) AS first_date,"
    "  max(last_date) AS last_date, min(min_weight) AS min_weight, max(max_weight) AS max_weight,"
    "  coalesce(sum(weight_count), 0) AS weight_count, coalesce(sum(weight_sum), 0) AS weight_sum,"
    "  coalesce(sum(calories_count), 0) AS calories_count, coalesce(sum(calories_sum), 0) AS calories_sum,"
    "  (SELECT jsonb_object_agg(kind, n) FROM (SELECT progress_workout_kind(text) AS kind, sum(n)::bigint AS n"
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

# The facts of each user `u.user_id` over all their logs, folded from their months' facts and workout counts (kept by
# progress_logs' triggers, migration 0011): a few hundred rows for a user who logged daily for decades. The streaks are
# the runs of the union of the months' logged days (a multirange joins the runs that cross a month's end).
_FROM_MONTHS = {
    "n": "m.n",
    "first_date": "lower(m.days)",
    "last_date": "upper(m.days) - 1",
    "weight_count": "m.weight_count",
    "weight_sum": "m.weight_sum",
    "min_weight": "m.min_weight",
    "max_weight": "m.max_weight",
    "first_weight": "(SELECT first_weight FROM progress_log_months AS f WHERE f.user_id = u.user_id"
    " AND f.first_weight IS NOT NULL ORDER BY f.month LIMIT 1)",
    "latest_weight": "(SELECT latest_weight FROM progress_log_months AS f WHERE f.user_id = u.user_id"
    " AND f.latest_weight IS NOT NULL ORDER BY f.month DESC LIMIT 1)",
    "calories_count": "m.calories_count",
    "calories_sum": "m.calories_sum",
    "workouts": "(SELECT coalesce(jsonb_object_agg(kind, log_count), '{}') FROM progress_workout_counts AS w"
    " WHERE w.user_id = u.user_id)",
    "longest": "coalesce((SELECT max(upper(r) - lower(r)) FROM unnest(m.days) AS r), 0)",
    "last": "coalesce((SELECT upper(r) - lower(r) FROM unnest(m.days) AS r ORDER BY lower(r) DESC LIMIT 1), 0)",
}
assert _FROM_MONTHS.keys() == _FROM_LOGS.keys()
_MONTHS_LATERALS = (
    " CROSS JOIN LATERAL (SELECT coalesce(sum(log_count), 0) AS n, range_agg(days) AS days,"
    "  coalesce(sum(weight_count), 0) AS weight_count, coalesce(sum(weight_sum), 0) AS weight_sum,"
    "  min(min_weight) AS min_weight, max(max_weight) AS max_weight,"
    "  coalesce(sum(calories_count), 0) AS calories_count, coalesce(sum(calories_sum), 0) AS calories_sum"
    "  FROM progress_log_months AS f WHERE f.user_id = u.user_id) AS m"
)


def _facts_of(users: str, *, goals: bool, versions: bool = False, from_logs: bool = False) -> str:
    """`SELECT u.user_id[, u.version], <facts>` for the users of the FROM item `users` (which names them `u`): folded
    from their months, or `from_logs` over the dates from..to; with their goals' facts or without."""
    parts, laterals = (_FROM_LOGS, _LOGS_LATERALS) if from_logs else (_FROM_MONTHS, _MONTHS_LATERALS)
    facts = _facts_json(parts, "goal.facts" if goals else "NULL::jsonb")
    return (
        f"SELECT u.user_id,{' u.version,' if versions else ''} {facts} AS facts"
        f" FROM {users}{laterals}{GOAL_FACTS_LATERAL if goals else ''}"
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


def summary_facts(
    cursor: Cursor, user_id: str, date_from: date | None = None, date_to: date | None = None
) -> SummaryFacts:
    """A user's facts over a date range (goals aside), read from the logs in it and never stored: one statement."""
    cursor.execute(
        _facts_of("(SELECT %(user)s::text AS user_id) AS u", goals=False, from_logs=True),
        {"user": user_id, "from": date_from or date.min, "to": date_to or date.max},
    )
    return SummaryFacts.model_validate(one_row(cursor)[1])


CURRENT_OR_FRESH = (
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
    + " SELECT coalesce((SELECT facts FROM stored), (SELECT facts FROM fresh))"
)


# The summary read runs as a plpgsql function (READ_FUNCTION, created by a migration): plpgsql keeps a statement's
# plan per connection, and this one takes ~2.5 ms to plan against ~0.3 ms to run for a user with a few hundred logs;
# Neon's transaction-mode pooler allows no prepared statement. Its body is rendered from CURRENT_OR_FRESH, and a test
# checks the database's copy against the code (`python progress_tracking_app.py summary-read-function` writes the
# migration).
READ_FUNCTION = "progress_summary_read"


def read_function_body() -> str:
    statement = CURRENT_OR_FRESH.replace("%(user)s", "p_user").replace("%(at)s", "p_at")
    assert "%(" not in statement
    return f"\nDECLARE\n    result jsonb;\nBEGIN\n    {statement}\n    INTO result;\n    RETURN result;\nEND\n"


def current_or_fresh(cursor: Cursor, user_id: str, at: datetime) -> SummaryFacts:
    """The stored summary if it reflects the user's latest event, else facts folded from the user's months, stored
    on the way: one statement, CURRENT_OR_FRESH, run by READ_FUNCTION (the freshness check, and only the fold it calls
    for)."""
    cursor.execute(f"SELECT {READ_FUNCTION}(%s, %s)", (user_id, at))
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
        {"users": user_ids, "at": at},
    )
    return int(one_row(cursor)[0])


def stored_summary(cursor: Cursor, user_id: str) -> tuple[int, SummaryFacts] | None:
    cursor.execute(statement("stored_summary"), {"user_id": user_id})
    row = cursor.fetchone()
    return (row[0], SummaryFacts.model_validate(row[1])) if row else None
