"""The summary projection's SQL: the facts a summary is derived from, and the stored summaries with their versions."""

from __future__ import annotations

from datetime import date, datetime

from psycopg2.extras import Json, execute_values
from pydantic import BaseModel

from progress_tracking.db import Cursor
from progress_tracking.store.goals import GoalFacts


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


def summary_facts(
    cursor: Cursor, user_id: str, date_from: date | None = None, date_to: date | None = None
) -> SummaryFacts:
    return summary_facts_of_users(cursor, [user_id], date_from, date_to)[user_id]


def summary_facts_of_users(
    cursor: Cursor, user_ids: list[str], date_from: date | None = None, date_to: date | None = None
) -> dict[str, SummaryFacts]:
    """The summary facts of several users at once: three queries whatever the number of users."""
    params = {"users": user_ids, "from": date_from or date.min, "to": date_to or date.max}
    scope = "user_id = u.user_id AND date >= %(from)s AND date <= %(to)s"
    cursor.execute(
        "SELECT u.user_id, totals.*, first_log.weight_kg, latest_log.weight_kg"
        " FROM unnest(%(users)s::text[]) AS u(user_id)"
        " CROSS JOIN LATERAL (SELECT count(*), min(date), max(date), avg(weight_kg), min(weight_kg), max(weight_kg),"
        f"  avg(calories_burned), coalesce(sum(calories_burned), 0) FROM progress_logs WHERE {scope}) AS totals"
        f" LEFT JOIN LATERAL (SELECT weight_kg FROM progress_logs WHERE {scope} AND weight_kg IS NOT NULL"
        "  ORDER BY date, log_id LIMIT 1) AS first_log ON TRUE"
        f" LEFT JOIN LATERAL (SELECT weight_kg FROM progress_logs WHERE {scope} AND weight_kg IS NOT NULL"
        "  ORDER BY date DESC, log_id DESC LIMIT 1) AS latest_log ON TRUE",
        params,
    )
    totals = {row[0]: row[1:] for row in cursor.fetchall()}
    in_scope = "user_id = ANY(%(users)s) AND date >= %(from)s AND date <= %(to)s"
    cursor.execute(
        "SELECT user_id, lower(btrim(workout_done)), count(*) FROM progress_logs"
        f" WHERE {in_scope} AND workout_done IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    )
    workouts: dict[str, dict[str, int]] = {user_id: {} for user_id in user_ids}
    for user_id, kind, count in cursor.fetchall():
        workouts[user_id][kind] = count
    # Gaps and islands: a user's consecutive distinct dates share (date - row_number); each island is a streak.
    cursor.execute(
        f"WITH days AS (SELECT DISTINCT user_id, date FROM progress_logs WHERE {in_scope}),"
        " islands AS (SELECT user_id, date,"
        "  date - (row_number() OVER (PARTITION BY user_id ORDER BY date))::int AS island FROM days),"
        " streaks AS (SELECT user_id, max(date) AS last_day, count(*) AS length FROM islands GROUP BY user_id, island)"
        " SELECT DISTINCT ON (user_id) user_id, max(length) OVER (PARTITION BY user_id), length"
        " FROM streaks ORDER BY user_id, last_day DESC",
        params,
    )
    streaks = {user_id: (longest, last) for user_id, longest, last in cursor.fetchall()}
    facts = {}
    for user_id in user_ids:
        (
            count,
            first_date,
            last_date,
            avg_weight,
            min_weight,
            max_weight,
            avg_calories,
            total_calories,
            first_weight,
            latest_weight,
        ) = totals[user_id]
        longest, last_streak = streaks.get(user_id, (0, 0))
        facts[user_id] = SummaryFacts(
            log_count=count,
            first_date=first_date,
            last_date=last_date,
            average_weight=avg_weight,
            min_weight=min_weight,
            max_weight=max_weight,
            first_weight=first_weight,
            latest_weight=latest_weight,
            average_calories=avg_calories,
            total_calories=total_calories,
            workouts=workouts[user_id],
            longest_streak=longest,
            last_streak=last_streak,
        )
    return facts


def current_summary(cursor: Cursor, user_id: str) -> SummaryFacts | None:
    """The stored summary if it was computed at the user's present stream version (read in one statement)."""
    cursor.execute(
        "SELECT s.facts FROM progress_summaries AS s JOIN user_streams AS u USING (user_id)"
        " WHERE s.user_id = %s AND s.stream_version = u.version",
        (user_id,),
    )
    row = cursor.fetchone()
    return SummaryFacts.model_validate(row[0]) if row else None


def stored_summary(cursor: Cursor, user_id: str) -> tuple[int, SummaryFacts] | None:
    cursor.execute("SELECT stream_version, facts FROM progress_summaries WHERE user_id = %s", (user_id,))
    row = cursor.fetchone()
    return (row[0], SummaryFacts.model_validate(row[1])) if row else None


def save_summaries(cursor: Cursor, summaries: dict[str, tuple[int, SummaryFacts]], at: datetime) -> None:
    """Store summaries unless newer ones are already there (two computations may race; the newer wins)."""
    if not summaries:
        return
    execute_values(
        cursor,
        "INSERT INTO progress_summaries (user_id, stream_version, facts, computed_at) VALUES %s"
        " ON CONFLICT (user_id) DO UPDATE SET stream_version = EXCLUDED.stream_version, facts = EXCLUDED.facts,"
        "  computed_at = EXCLUDED.computed_at WHERE progress_summaries.stream_version <= EXCLUDED.stream_version",
        [
            (user_id, version, Json(facts.model_dump(mode="json")), at)
            for user_id, (version, facts) in summaries.items()
        ],
    )
