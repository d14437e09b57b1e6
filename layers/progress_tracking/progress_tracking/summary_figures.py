"""The API's summary, derived from a user's summary facts (models.facts) and today's date: rounded averages, the
weight's change, workouts ranked by how often they were logged, the current streak, and progress toward the goals."""

from __future__ import annotations

from datetime import date, timedelta

from progress_tracking import goal_progress
from progress_tracking.models.facts import SummaryFacts
from progress_tracking.models.summary import MAX_WORKOUT_KINDS, Summary
from progress_tracking.values import rounded


def summary_from_facts(user_id: str, facts: SummaryFacts, today: date) -> Summary:
    weight_change = None
    if facts.first_weight is not None and facts.latest_weight is not None:
        weight_change = facts.latest_weight - facts.first_weight
    # A streak is current while its last day is today or yesterday: today's log may simply not be in yet.
    current = facts.last_streak if facts.last_date and facts.last_date >= today - timedelta(days=1) else 0
    kinds = sorted(facts.workouts.items(), key=lambda kind: (-kind[1], kind[0]))  # the most logged first
    return Summary(
        user_id=user_id,
        log_count=facts.log_count,
        first_date=facts.first_date,
        last_date=facts.last_date,
        average_weight=_round(facts.average_weight),
        latest_weight_kg=facts.latest_weight,
        weight_change_kg=_round(weight_change),
        min_weight_kg=facts.min_weight,
        max_weight_kg=facts.max_weight,
        average_calories_burned=_round(facts.average_calories),
        total_calories_burned=rounded(facts.total_calories, 2),
        workouts=dict(kinds[:MAX_WORKOUT_KINDS]),
        workout_kinds=len(kinds),
        other_workouts=sum(count for _, count in kinds[MAX_WORKOUT_KINDS:]),
        current_streak_days=current,
        longest_streak_days=facts.longest_streak,
        goals=None if facts.goals is None else goal_progress.progress(facts.goals, today),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else rounded(value, 2)
