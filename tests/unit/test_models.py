"""Request models: bounds, strict types, unknown fields (bodies are validated from JSON, as the handlers do)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from progress_tracking.models.log import ListQuery, LogCreate, LogUpdate


def create(body: dict) -> LogCreate:
    return LogCreate.model_validate_json(json.dumps(body))


def update(body: dict) -> LogUpdate:
    return LogUpdate.model_validate_json(json.dumps(body))


VALID = {"user_id": "alice", "date": "2026-01-01", "weight_kg": 80, "workout_done": "run", "calories_burned": 300}


def test_a_first_version_body_is_accepted():
    entry = create(VALID)
    assert entry.date == date(2026, 1, 1) and entry.weight_kg == 80.0 and entry.notes is None


def test_tomorrow_is_the_latest_date_accepted():
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert create({**VALID, "date": tomorrow.isoformat()}).date == tomorrow
    with pytest.raises(ValidationError):
        create({**VALID, "date": (tomorrow + timedelta(days=1)).isoformat()})


@pytest.mark.parametrize(
    "change",
    [
        {"weight_kg": 0},
        {"weight_kg": 1.99},
        {"weight_kg": 650.01},
        {"calories_burned": -0.1},
        {"calories_burned": 100_000.5},
        {"weight_kg": float("nan")},
        {"weight_kg": float("inf")},
        {"date": "1899-12-31"},
        {"workout_done": ""},
        {"workout_done": "tab\there"},
        {"user_id": "new\nline"},
        {"extra": 1},
    ],
)
def test_out_of_bounds_values_are_rejected(change):
    with pytest.raises(ValidationError):
        create({**VALID, **change})


def test_notes_may_span_lines():
    assert create({**VALID, "notes": "a\nb\tc"}).notes == "a\nb\tc"


def test_update_reports_only_the_fields_given_and_refuses_user_id():
    assert update({"notes": None, "weight_kg": 70}).changes() == {"notes": None, "weight_kg": 70.0}
    with pytest.raises(ValidationError, match="user_id cannot be changed"):
        update({"user_id": "bob"})
    with pytest.raises(ValidationError):
        update({})


def test_list_query_reads_strings_and_applies_defaults():
    query = ListQuery.model_validate({"limit": "5", "from": "2026-01-01"})
    assert (query.limit, query.date_from, query.date_to, query.cursor) == (5, date(2026, 1, 1), None, None)
    assert ListQuery.model_validate({}).limit == 100
