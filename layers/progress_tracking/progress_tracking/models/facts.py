"""What the database knows about a user's logs and goals, independent of today: a summary's facts, stored with the
stream version they reflect (store.summary_facts). The API's summary and goal progress are derived from them with
today's date (summary_figures, goal_progress)."""

from __future__ import annotations

import math
from datetime import date, datetime

from pydantic import BaseModel


class GoalFacts(BaseModel):
    """A user's goals and what their logs say about them, independent of today (stored with the summary; the
    database computes them: progress_goal_facts, migration 0016)."""

    version: int
    target_weight_kg: float | None
    target_date: date | None
    target_weight_set_at: datetime | None
    weekly_workouts: int | None
    weekly_calories_burned: float | None
    start_weight: float | None = None  # latest weight log on or before the day the weight goal was set (else first)
    start_date: date | None = None
    current_weight: float | None = None  # latest weight log
    current_date: date | None = None
    trend_slope_per_day: float | None = None  # least squares over the trend window; None below 3 points
    trend_points: int = 0
    # (Monday, workouts, calories) of the ISO weeks with logs from `weeks_from` on (the week before the one the facts
    # were computed in), and how many weeks in a row before `weeks_from` met each weekly target: this week and the
    # streak for any day from then on, whatever the length of the history. `weeks_from` None: every week with logs.
    weeks: list[tuple[date, int, float]] = []
    weeks_from: date | None = None
    workouts_weeks_met_before: int = 0
    calories_weeks_met_before: int = 0


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
    goals: GoalFacts | None = None  # the user's goals and what the logs say about them

    def agrees_with(self, other: SummaryFacts) -> bool:
        """Equal, but for the last bits of the averages and the total calories: sums of floats depend on the order
        they were added in, and a summary folded from months' sums adds them in another order than one from the logs."""
        mine, theirs = self.model_dump(), other.model_dump()
        for name in ("average_weight", "average_calories", "total_calories"):
            a, b = mine.pop(name), theirs.pop(name)
            if (a is None) != (b is None) or (a is not None and not math.isclose(a, b, rel_tol=1e-9)):
                return False
        return mine == theirs
