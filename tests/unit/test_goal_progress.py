"""Progress toward goals against hand-computed cases (the facts as the database would give them)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from progress_tracking import goal_progress
from progress_tracking.models.facts import GoalFacts

SET_AT = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)


def facts(**changes) -> GoalFacts:
    base = {
        "version": 1,
        "target_weight_kg": 80.0,
        "target_date": date(2026, 3, 1),
        "target_weight_set_at": SET_AT,
        "weekly_workouts": None,
        "weekly_calories_burned": None,
    }
    return GoalFacts(**(base | changes))


def test_on_the_way_down_with_a_trend_that_arrives_in_time():
    # 90 → 85 of 90 → 80: half-way. -0.1 kg a day = -0.7 a week; 5 kg to go = 50 days after Jan 31 = Mar 22.
    progress = goal_progress.weight_progress(
        facts(
            start_weight=90.0,
            start_date=date(2026, 1, 9),
            current_weight=85.0,
            current_date=date(2026, 1, 31),
            trend_slope_per_day=-0.1,
            trend_points=5,
        )
    )
    assert progress.set_on == date(2026, 1, 10)
    assert progress.fraction_done == 0.5 and progress.remaining_kg == -5.0 and progress.reached is False
    assert progress.trend_kg_per_week == -0.7
    assert progress.projected_date == date(2026, 3, 22)
    assert progress.on_track is False  # Mar 22 is after the target date, Mar 1
    later = goal_progress.weight_progress(
        facts(
            target_date=date(2026, 3, 22),
            start_weight=90.0,
            current_weight=85.0,
            current_date=date(2026, 1, 31),
            trend_slope_per_day=-0.1,
            trend_points=5,
        )
    )
    assert later.on_track is True  # positive control: projected on the target date itself


def test_a_plateau_projects_nothing_and_is_not_on_track():
    progress = goal_progress.weight_progress(
        facts(start_weight=90.0, current_weight=88.0, current_date=date(2026, 2, 1), trend_slope_per_day=0.0)
    )
    assert progress.fraction_done == 0.2 and progress.trend_kg_per_week == 0.0
    assert progress.projected_date is None and progress.on_track is False


def test_gaining_when_losing_is_the_goal_goes_backwards():
    progress = goal_progress.weight_progress(
        facts(start_weight=90.0, current_weight=92.0, current_date=date(2026, 2, 1), trend_slope_per_day=0.05)
    )
    assert progress.fraction_done == -0.2 and progress.reached is False
    assert progress.trend_kg_per_week == 0.35
    assert progress.projected_date is None and progress.on_track is False


def test_a_reached_target_is_on_track_and_needs_no_projection():
    progress = goal_progress.weight_progress(
        facts(start_weight=90.0, current_weight=79.5, current_date=date(2026, 2, 1), trend_slope_per_day=-0.2)
    )
    assert progress.reached is True and progress.fraction_done == 1.05
    assert progress.projected_date is None and progress.on_track is True


def test_a_gaining_goal_counts_upwards():
    progress = goal_progress.weight_progress(
        facts(
            target_weight_kg=70.0,
            start_weight=60.0,
            current_weight=62.5,
            current_date=date(2026, 2, 1),
            trend_slope_per_day=0.25,
        )
    )
    # 7.5 kg at 0.25 a day: 30 days after Feb 1.
    assert progress.fraction_done == 0.25 and progress.projected_date == date(2026, 3, 3)
    assert progress.on_track is False


def test_no_weight_logs_leave_every_number_empty():
    progress = goal_progress.weight_progress(facts())
    assert progress.start_weight_kg is None and progress.current_weight_kg is None
    assert progress.fraction_done is None and progress.reached is None and progress.remaining_kg is None
    assert progress.trend_kg_per_week is None and progress.trend_points == 0
    assert progress.projected_date is None and progress.on_track is None


def test_one_log_is_both_start_and_current_with_no_trend():
    one = {"start_weight": 88.0, "start_date": date(2026, 1, 12), "current_weight": 88.0}
    progress = goal_progress.weight_progress(facts(**one, current_date=date(2026, 1, 12), trend_points=1))
    assert progress.fraction_done == 0.0 and progress.reached is False
    assert progress.trend_kg_per_week is None and progress.projected_date is None
    assert progress.on_track is None  # unknown without a trend


def test_a_goal_set_before_any_log_starts_from_the_first_log():
    # The database gives the first weight after the set day as the start when none is on or before it.
    progress = goal_progress.weight_progress(
        facts(
            start_weight=86.0,
            start_date=date(2026, 1, 15),
            current_weight=84.0,
            current_date=date(2026, 1, 29),
            trend_slope_per_day=-1 / 7,
            trend_points=3,
        )
    )
    assert progress.start_date == date(2026, 1, 15) and progress.fraction_done == 0.333
    # 4 kg to go at 1 kg a week: 28 days after Jan 29 = Feb 26, before Mar 1.
    assert progress.projected_date == date(2026, 2, 26) and progress.on_track is True


def test_without_a_target_date_on_track_is_null():
    progress = goal_progress.weight_progress(facts(target_date=None, start_weight=90.0, current_weight=85.0))
    assert progress.on_track is None


def test_weekly_goals_count_this_week_and_the_completed_weeks_up_to_last_week():
    # Today is Wednesday 2026-02-18; its ISO week starts Monday 2026-02-16.
    weeks = {date(2026, 1, 26): 3, date(2026, 2, 2): 4, date(2026, 2, 9): 3, date(2026, 2, 16): 1, date(2026, 1, 12): 5}
    progress = goal_progress.weekly_progress(3, weeks, date(2026, 2, 16))
    # Feb 9, Feb 2 and Jan 26 are complete; Jan 19 has no logs, so the streak is 3 (Jan 12 is not counted).
    assert progress.streak_weeks == 3 and progress.this_week == 1 and progress.completed_this_week is False
    assert goal_progress.weekly_progress(4, weeks, date(2026, 2, 16)).streak_weeks == 0  # last week fell short
    assert goal_progress.weekly_progress(1, weeks, date(2026, 2, 16)).completed_this_week is True


def test_the_summary_section_holds_only_the_goals_that_are_set():
    section = goal_progress.progress(
        facts(target_weight_kg=None, target_weight_set_at=None, weekly_calories_burned=1500.0, weeks=[]),
        date(2026, 2, 18),
    )
    assert section.weight is None and section.weekly_workouts is None
    assert section.weekly_calories_burned is not None and section.weekly_calories_burned.this_week == 0
