"""The summary projection's SQL: a summary's facts computed set-based in one statement, and stored with the stream
version they reflect without blocking writers.

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
        they were added in, and a summary extended by new logs adds them in another order than one from every log."""
        mine, theirs = self.model_dump(), other.model_dump()
        for name in ("average_weight", "average_calories", "total_calories"):
            a, b = mine.pop(name), theirs.pop(name)
            if (a is None) != (b is None) or (a is not None and not math.isclose(a, b, rel_tol=1e-9)):
                return False
        return mine == theirs


def _facts_json(parts: dict[str, str], goals: str) -> str:
    """A summary's facts as one jsonb, from its parts (SQL expressions by name). Besides what SummaryFacts reads, the
    facts keep the counts and sums the averages come from, so that a later summary can add new logs to them.
    Averages are divided as numeric (from the sum's exact text, not float8's 15-digit cast): float8 division raises
    when its result underflows to zero, as a sum of subnormal calories divided by a count does."""
    p = {name: f"({expression})" for name, expression in parts.items()}  # each part whole within larger expressions
    return (
        f"jsonb_build_object('log_count', {p['n']}, 'first_date', {p['first_date']}, 'last_date', {p['last_date']},"
        f" 'weight_count', {p['weight_count']}, 'weight_sum', {p['weight_sum']},"
        f" 'average_weight', {p['weight_sum']}::text::numeric / nullif({p['weight_count']}, 0),"
        f" 'min_weight', {p['min_weight']}, 'max_weight', {p['max_weight']},"
        f" 'first_weight', {p['first_weight']}, 'latest_weight', {p['latest_weight']},"
        f" 'calories_count', {p['calories_count']},"
        f" 'average_calories', {p['calories_sum']}::text::numeric / nullif({p['calories_count']}, 0),"
        f" 'total_calories', {p['calories_sum']}, 'workouts', {p['workouts']},"
        f" 'longest_streak', {p['longest']}, 'last_streak', {p['last']}, 'goals', {goals})"
    )


# The facts of each user `u.user_id` of the outer query, over the logs dated from..to, from every log. Every part is
# an index(-only) scan of the user's logs on (user_id, date); streaks are gaps and islands over distinct dates.
_SCOPE = "l.user_id = u.user_id AND l.date >= %(from)s AND l.date <= %(to)s"
_COMPUTED = {
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
_LATERALS = (
    # Totals and the workouts per kind in one index-only scan: grouped by the workout as stored, the totals then added
    # up from the few groups (sums and counts, so averages need no float8 accumulator of squares per log), and only
    # the few distinct texts folded to a kind (lower, trimmed): folding every row cost more than the rest of the scan.
    " CROSS JOIN LATERAL (SELECT coalesce(sum(n), 0) AS n, min(first_date) AS first_date,"
    "  max(last_date) AS last_date, min(min_weight) AS min_weight, max(max_weight) AS max_weight,"
    "  coalesce(sum(weight_count), 0) AS weight_count, coalesce(sum(weight_sum), 0) AS weight_sum,"
    "  coalesce(sum(calories_count), 0) AS calories_count, coalesce(sum(calories_sum), 0) AS calories_sum,"
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


# The user's latest event when the facts were read (same statement, same snapshot): the events after it are what a
# later summary adds (a user's events are appended under their lock, so their positions follow their commits).
_LAST_POSITION = "(SELECT max(e.position) FROM progress_events AS e WHERE e.user_id = u.user_id)"


def _facts_of(users: str, *, goals: str | None, stored: bool = False) -> str:
    """`SELECT u.user_id[, u.version, last_position], <facts>` for the users of the FROM item `users` (which names
    them `u`; with `stored`, it has their stream `version` too). `goals`: an expression for their goals' facts, or
    None to join GOAL_FACTS_LATERAL."""
    facts = _facts_json(_COMPUTED, goals or "goal.facts")
    return (
        f"SELECT u.user_id,{f' u.version, {_LAST_POSITION} AS last_position,' if stored else ''} {facts} AS facts"
        f" FROM {users}{_LATERALS}{'' if goals else GOAL_FACTS_LATERAL}"
    )


# A stale stored summary extended by what happened since (CTE `previous`: the stored row, when not current), instead
# of computed from every log, when all of it is new logs of one day on or after the summary's last day — logging
# today's progress. An edit, a deletion, a rollback, a back-dated log, logs of several new days, or facts stored before
# they kept their sums: computed from every log. The new logs are read by their ids (the events' log ids, primary key).
EXTEND_EVENTS = 1000
_ADDED = (
    " added AS (SELECT count(e.position) AS n, max(e.position) AS position,"
    "  coalesce(bool_and(e.event_type = 'logged' AND l.log_id IS NOT NULL), TRUE) AS only_new_logs,"
    "  min(l.date) AS day, count(DISTINCT l.date) AS days, count(l.weight_kg) AS weight_count,"
    "  coalesce(sum(l.weight_kg), 0) AS weight_sum, min(l.weight_kg) AS min_weight, max(l.weight_kg) AS max_weight,"
    "  (array_agg(l.weight_kg ORDER BY l.log_id) FILTER (WHERE l.weight_kg IS NOT NULL))[1] AS first_weight,"
    "  (array_agg(l.weight_kg ORDER BY l.log_id DESC) FILTER (WHERE l.weight_kg IS NOT NULL))[1] AS latest_weight,"
    "  count(l.calories_burned) AS calories_count, coalesce(sum(l.calories_burned), 0) AS calories_sum,"
    "  array_agg(lower(btrim(l.workout_done))) FILTER (WHERE l.workout_done IS NOT NULL) AS kinds"
    # At most EXTEND_EVENTS + 1 events are looked at: a summary further behind is computed from every log anyway.
    "  FROM previous AS p CROSS JOIN LATERAL (SELECT e.position, e.event_type, e.log_id FROM progress_events AS e"
    "   WHERE e.user_id = %(user)s AND e.position > p.last_position ORDER BY e.position"
    f"   LIMIT {EXTEND_EVENTS + 1}) AS e"
    # OFFSET 0: each log by its primary key, never a scan of the user's logs the planner might pick on a guess.
    "  LEFT JOIN LATERAL (SELECT * FROM progress_logs AS l WHERE l.log_id = e.log_id OFFSET 0) AS l ON TRUE),"
    " extensible AS (SELECT FROM previous AS p, added AS a WHERE p.last_position IS NOT NULL"
    f"  AND p.f ? 'weight_sum' AND (p.f ->> 'log_count')::bigint > 0 AND a.only_new_logs AND a.n <= {EXTEND_EVENTS}"
    "  AND (a.n = 0 OR (a.days = 1 AND a.day >= (p.f ->> 'last_date')::date))),"
)
# The last streak goes on when the new day follows the last one, starts again after a gap, and stays on the same day.
_LAST_STREAK = (
    "CASE WHEN a.day IS NULL OR a.day = (f ->> 'last_date')::date THEN (f ->> 'last_streak')::int"
    " WHEN a.day = (f ->> 'last_date')::date + 1 THEN (f ->> 'last_streak')::int + 1 ELSE 1 END"
)
_EXTENDED = {
    "n": "(f ->> 'log_count')::bigint + a.n",
    "first_date": "(f ->> 'first_date')::date",
    "last_date": "greatest((f ->> 'last_date')::date, a.day)",
    "weight_count": "(f ->> 'weight_count')::bigint + a.weight_count",
    "weight_sum": "(f ->> 'weight_sum')::float8 + a.weight_sum",
    "min_weight": "least((f ->> 'min_weight')::float8, a.min_weight)",
    "max_weight": "greatest((f ->> 'max_weight')::float8, a.max_weight)",
    "first_weight": "coalesce((f ->> 'first_weight')::float8, a.first_weight)",
    "latest_weight": "coalesce(a.latest_weight, (f ->> 'latest_weight')::float8)",
    "calories_count": "(f ->> 'calories_count')::bigint + a.calories_count",
    "calories_sum": "(f ->> 'total_calories')::float8 + a.calories_sum",
    "workouts": "(SELECT coalesce(jsonb_object_agg(kind, n), '{}') FROM (SELECT kind, sum(n)::bigint AS n FROM"
    " (SELECT key AS kind, value::bigint AS n FROM jsonb_each_text(f -> 'workouts')"
    " UNION ALL SELECT kind, 1 FROM unnest(a.kinds) AS kind) AS k GROUP BY kind) AS kinds)",
    "longest": f"greatest((f ->> 'longest_streak')::int, {_LAST_STREAK})",
    "last": _LAST_STREAK,
}
assert _EXTENDED.keys() == _COMPUTED.keys()


# Store fresh facts at the version they were computed at, only while the stream is still at that version (an erased
# user has no row; an erasure in flight holds FOR UPDATE, so this waits for it and then finds no row).
_STORE = (
    " locked AS (SELECT s.user_id, fresh.version, fresh.facts, fresh.last_position FROM user_streams AS s"
    "  JOIN fresh ON s.user_id = fresh.user_id AND s.version = fresh.version FOR KEY SHARE OF s),"
    " saved AS (INSERT INTO progress_summaries (user_id, stream_version, facts, computed_at, last_position)"
    "  SELECT user_id, version, facts, %(at)s, last_position FROM locked"
    "  ON CONFLICT (user_id) DO UPDATE SET stream_version = EXCLUDED.stream_version, facts = EXCLUDED.facts,"
    "   computed_at = EXCLUDED.computed_at, last_position = EXCLUDED.last_position"
    "   WHERE progress_summaries.stream_version <= EXCLUDED.stream_version"
    "  RETURNING 1)"
)
_ALL_DATES = {"from": date.min, "to": date.max}


def summary_facts(
    cursor: Cursor, user_id: str, date_from: date | None = None, date_to: date | None = None
) -> SummaryFacts:
    """A user's facts over a date range (goals aside), computed and never stored: one statement."""
    cursor.execute(
        _facts_of("(SELECT %(user)s::text AS user_id) AS u", goals="NULL::jsonb"),
        {"user": user_id, "from": date_from or date.min, "to": date_to or date.max},
    )
    return SummaryFacts.model_validate(one_row(cursor)[1])


CURRENT_OR_FRESH = (
    "WITH stream AS (SELECT version FROM user_streams WHERE user_id = %(user)s),"
    " stored AS (SELECT facts FROM progress_summaries WHERE user_id = %(user)s"
    "  AND stream_version = (SELECT version FROM stream)),"
    # (Only a user with a stream has a summary to extend: a summary left without one is never built on.)
    " previous AS (SELECT facts AS f, last_position FROM progress_summaries WHERE user_id = %(user)s"
    "  AND EXISTS (SELECT FROM stream) AND NOT EXISTS (SELECT FROM stored)),"
    + _ADDED
    + " stale AS (SELECT %(user)s::text AS user_id, (SELECT version FROM stream) AS version"
    "  WHERE NOT EXISTS (SELECT FROM stored)),"
    # Their goals' facts, read once for either way.
    " goal_facts AS (SELECT goal.facts FROM stale AS u" + GOAL_FACTS_LATERAL + "),"
    " extended AS (SELECT u.user_id, u.version, coalesce(a.position, p.last_position) AS last_position, "
    + _facts_json(_EXTENDED, "(SELECT facts FROM goal_facts)")
    + " AS facts FROM stale AS u, previous AS p, added AS a WHERE EXISTS (SELECT FROM extensible)),"
    " computed AS ("
    + _facts_of(
        "(SELECT * FROM stale WHERE NOT EXISTS (SELECT FROM extensible)) AS u",
        goals="(SELECT facts FROM goal_facts)",
        stored=True,
    )
    + "), fresh AS (SELECT * FROM extended UNION ALL SELECT * FROM computed),"
    + _STORE
    + " SELECT coalesce((SELECT facts FROM stored), (SELECT facts FROM fresh))"
)


# The summary read runs as a plpgsql function (READ_FUNCTION, created by a migration): plpgsql keeps a statement's
# plan per connection, and this one takes ~2.5 ms to plan against ~0.3 ms to run for a user with a few hundred logs;
# Neon's transaction-mode pooler allows no prepared statement. Its body is rendered from CURRENT_OR_FRESH, and a test
# checks the database's copy against the code (`python -m localdev.summary_read_function` writes the migration).
READ_FUNCTION = "progress_summary_read"


def read_function_body() -> str:
    statement = (
        CURRENT_OR_FRESH.replace("%(user)s", "p_user")
        .replace("%(at)s", "p_at")
        .replace("%(from)s", f"'{date.min.isoformat()}'::date")
        .replace("%(to)s", f"'{date.max.isoformat()}'::date")
    )
    assert "%(" not in statement
    return f"\nDECLARE\n    result jsonb;\nBEGIN\n    {statement}\n    INTO result;\n    RETURN result;\nEND\n"


def current_or_fresh(cursor: Cursor, user_id: str, at: datetime) -> SummaryFacts:
    """The stored summary if it reflects the user's latest event; else the stored one extended by the logs logged
    since, where that is all that happened (`_ADDED`); else facts computed from every log. Stored on the way; one
    statement, CURRENT_OR_FRESH, run by READ_FUNCTION (the freshness check, and only the computation it calls for)."""
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
            goals=None,
            stored=True,
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
