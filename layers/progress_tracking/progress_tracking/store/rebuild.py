"""Rebuilding projections from the events alone: the logs and their states in time compared or replaced (the facts the
summaries fold, kept from the logs, with them), the summaries reset."""

from __future__ import annotations

from dataclasses import dataclass

from progress_tracking.db import Cursor
from progress_tracking.store.columns import LOG_COLUMNS, STATE_FROM_EVENTS, VERSION_COLUMNS, VERSIONS_FROM_EVENTS


@dataclass(frozen=True)
class ProjectionReport:
    missing: list[int]  # live in the events, absent from the projection
    unexpected: list[int]  # in the projection, not live in the events
    different: list[int]  # in both, with different values
    states_differ: list[int]  # logs whose states in time (progress_log_versions) are not the events' fold
    facts_differ: list[str]  # users whose months' or weeks' facts or workout counts are not their logs'

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.unexpected or self.different or self.states_differ or self.facts_differ)


# The facts the summaries fold (migration 0011), as the logs give them: every user's months, weeks, and workout counts.
_WEEKS_FROM_LOGS = (
    "SELECT f.* FROM (SELECT DISTINCT user_id, date_trunc('week', date::timestamp)::date AS week"
    " FROM progress_logs) AS t, progress_log_week_facts(t.user_id, t.week) AS f"
)
_WEEK_RUNS_FROM_LOGS = (
    f"SELECT user_id, range_agg(daterange(week, week + 7)) AS weeks FROM ({_WEEKS_FROM_LOGS}) AS w GROUP BY user_id"
)
_MONTHS_FROM_LOGS = (
    "SELECT f.* FROM (SELECT DISTINCT user_id, date_trunc('month', date::timestamp)::date AS month"
    " FROM progress_logs) AS t, progress_log_month_facts(t.user_id, t.month) AS f"
)
_COUNTS_FROM_LOGS = (
    "SELECT user_id, progress_workout_kind(workout_done) AS kind, count(*) AS log_count FROM progress_logs"
    " WHERE workout_done IS NOT NULL GROUP BY 1, 2"
)


def _sums_differ(*names: str) -> str:
    """Sums of floats (of `e`, expected, and `m`, kept) may differ in their last bits with the order of addition."""
    return " OR ".join(f"abs(e.{name} - m.{name}) > 1e-9 * greatest(abs(e.{name}), 1)" for name in names)


_EXACT_MONTH_COLUMNS = (
    "log_count",
    "days",
    "weight_count",
    "min_weight",
    "max_weight",
    "first_weight",
    "latest_weight",
    "calories_count",
)


def compare_projection(cursor: Cursor) -> ProjectionReport:
    """Rebuild the log projection and the logs' states in time from the events alone and compare them with the live
    ones."""
    columns = [name for name in LOG_COLUMNS if name != "log_id"]
    differs = " OR ".join(f"rebuilt.{name} IS DISTINCT FROM live.{name}" for name in columns)
    cursor.execute(
        f"WITH rebuilt AS ({STATE_FROM_EVENTS.format(where='TRUE')})"
        " SELECT coalesce(rebuilt.log_id, live.log_id),"
        "  CASE WHEN live.log_id IS NULL THEN 'missing' WHEN rebuilt.log_id IS NULL THEN 'unexpected'"
        "  ELSE 'different' END"
        f" FROM rebuilt FULL JOIN progress_logs AS live USING (log_id) WHERE live.log_id IS NULL"
        f"  OR rebuilt.log_id IS NULL OR {differs} ORDER BY 1"
    )
    found: dict[str, list[int]] = {"missing": [], "unexpected": [], "different": []}
    for log_id, kind in cursor.fetchall():
        found[kind].append(log_id)
    states = ", ".join(VERSION_COLUMNS)
    cursor.execute(
        f"SELECT DISTINCT log_id FROM (({VERSIONS_FROM_EVENTS} EXCEPT SELECT {states} FROM progress_log_versions)"
        f" UNION ALL (SELECT {states} FROM progress_log_versions EXCEPT {VERSIONS_FROM_EVENTS})) AS d"
        " ORDER BY 1"
    )
    states_differ = [row[0] for row in cursor.fetchall()]
    exact = " OR ".join(f"e.{name} IS DISTINCT FROM m.{name}" for name in _EXACT_MONTH_COLUMNS)
    cursor.execute(
        f"SELECT user_id FROM ({_MONTHS_FROM_LOGS}) AS e FULL JOIN progress_log_months AS m USING (user_id, month)"
        f" WHERE e.user_id IS NULL OR m.user_id IS NULL OR {exact} OR {_sums_differ('weight_sum', 'calories_sum')}"
        f" UNION SELECT user_id FROM ({_WEEKS_FROM_LOGS}) AS e FULL JOIN progress_log_weeks AS m USING (user_id, week)"
        f"  WHERE e.user_id IS NULL OR m.user_id IS NULL OR e.workouts <> m.workouts OR {_sums_differ('calories')}"
        f" UNION SELECT user_id FROM ({_WEEK_RUNS_FROM_LOGS}) AS e FULL JOIN progress_log_week_runs AS m"
        "  USING (user_id) WHERE e.weeks IS DISTINCT FROM m.weeks"
        f" UNION SELECT user_id FROM ({_COUNTS_FROM_LOGS}) AS e FULL JOIN progress_workout_counts AS m"
        "  USING (user_id, kind) WHERE e.log_count IS DISTINCT FROM m.log_count ORDER BY 1"
    )
    return ProjectionReport(**found, states_differ=states_differ, facts_differ=[row[0] for row in cursor.fetchall()])


def replace_projection(cursor: Cursor) -> int:
    """Replace the log projection with the one the events give, and the facts the summaries fold with those of the
    new logs; returns the number of live logs. The logs' triggers stand aside for this transaction (a setting they
    read): the facts are written once, set-based, at the end."""
    cursor.execute("SET LOCAL progress_tracking.rebuilding = on")
    cursor.execute("LOCK TABLE progress_logs IN EXCLUSIVE MODE")
    cursor.execute("DELETE FROM progress_logs")
    cursor.execute(f"INSERT INTO progress_logs ({', '.join(LOG_COLUMNS)}) {STATE_FROM_EVENTS.format(where='TRUE')}")
    live = cursor.rowcount
    cursor.execute("LOCK TABLE progress_log_versions IN EXCLUSIVE MODE")
    cursor.execute("DELETE FROM progress_log_versions")
    cursor.execute(f"INSERT INTO progress_log_versions ({', '.join(VERSION_COLUMNS)}) {VERSIONS_FROM_EVENTS}")
    cursor.execute("DELETE FROM progress_log_months")
    cursor.execute(f"INSERT INTO progress_log_months {_MONTHS_FROM_LOGS}")
    cursor.execute("DELETE FROM progress_log_weeks")
    cursor.execute(f"INSERT INTO progress_log_weeks {_WEEKS_FROM_LOGS}")
    cursor.execute("DELETE FROM progress_log_week_runs")
    cursor.execute(f"INSERT INTO progress_log_week_runs {_WEEK_RUNS_FROM_LOGS}")
    cursor.execute("DELETE FROM progress_workout_counts")
    cursor.execute(f"INSERT INTO progress_workout_counts {_COUNTS_FROM_LOGS}")
    return live


def reset_summaries(cursor: Cursor, checkpoint_name: str) -> None:
    """Drop the summary projection and its checkpoint: the next recompute rebuilds it from the first event."""
    cursor.execute("DELETE FROM progress_summaries")
    cursor.execute("DELETE FROM projector_checkpoints WHERE name = %s", (checkpoint_name,))
