"""The units' rules as pure logic: an answer's weights in metric or imperial, and an idempotent POST's fingerprint
across the deploy that added units and sources."""

from __future__ import annotations

import hashlib

from progress_tracking import idempotency
from progress_tracking.models.log import LogCreate
from progress_tracking.units import in_units, kilograms, pounds

LOG_IN_LB = {"log_id": 1, "weight_kg": kilograms(170.2), "weight_lb": 170.2, "weight_unit": "lb", "source": "manual"}
LOG_IN_KG = {"log_id": 2, "weight_kg": 80.5, "weight_lb": None, "weight_unit": "kg"}


def test_a_log_entered_in_pounds_answers_its_pounds_in_imperial_and_rounded_kilograms_in_metric():
    assert in_units(LOG_IN_LB, "imperial") == {"log_id": 1, "weight_lb": 170.2, "weight_unit": "lb", "source": "manual"}
    assert in_units(LOG_IN_LB, "metric") == {"log_id": 1, "weight_kg": 77.2, "weight_unit": "lb", "source": "manual"}


def test_a_log_entered_in_kilograms_is_answered_as_stored_in_metric_and_converted_in_imperial():
    assert in_units(LOG_IN_KG, "metric") == {"log_id": 2, "weight_kg": 80.5, "weight_unit": "kg"}
    assert in_units(LOG_IN_KG, "imperial") == {"log_id": 2, "weight_lb": 177.47, "weight_unit": "kg"}


def test_the_field_order_stays_with_the_weight_where_weight_kg_was():
    answer = in_units({"date": "d", "weight_kg": 80.0, "notes": None, "weight_lb": None}, "imperial")
    assert list(answer) == ["date", "weight_lb", "notes"]


def test_a_metric_answer_without_weights_in_pounds_is_the_answer_itself():
    summary = {"average_weight": 80.35, "min_weight_kg": 80.2, "goals": {"weight": {"trend_kg_per_week": -0.5}}}
    assert in_units(summary, "metric") == summary


def test_imperial_renames_every_weight_field_nested_in_lists_and_objects_and_leaves_users_text_alone():
    summary = {
        "average_weight": 80.0,
        "workouts": {"weight_kg": 3, "min_weight_kg": 1},  # a user's workout kinds, not weights
        "goals": {"weight": {"target_weight_kg": 75.0, "trend_kg_per_week": -0.5, "remaining_kg": None}},
        "series": [{"min_weight_kg": 70.0, "logs": 2}],
    }
    assert in_units(summary, "imperial") == {
        "average_weight": pounds(80.0),
        "workouts": {"weight_kg": 3, "min_weight_kg": 1},
        "goals": {"weight": {"target_weight_lb": pounds(75.0), "trend_lb_per_week": -1.1, "remaining_lb": None}},
        "series": [{"min_weight_lb": 154.32, "logs": 2}],
    }


def test_a_body_without_the_new_fields_has_the_fingerprint_it_had_before_them():
    # An idempotent retry sent across the deploy that added weight_lb, source and device matches its first attempt.
    entry = LogCreate.model_validate({"user_id": "u", "date": "2026-01-05", "weight_kg": 80})
    before = (
        '{"user_id":"u","date":"2026-01-05","weight_kg":80.0,"workout_done":null,"calories_burned":null,"notes":null}'
    )
    assert idempotency.Claim.of("p", "k", entry).request_hash == hashlib.sha256(before.encode()).hexdigest()
    # Positive control: a body that names a source has another fingerprint.
    sourced = LogCreate.model_validate({"user_id": "u", "date": "2026-01-05", "weight_kg": 80, "source": "withings"})
    assert idempotency.Claim.of("p", "k", sourced).request_hash != idempotency.Claim.of("p", "k", entry).request_hash
