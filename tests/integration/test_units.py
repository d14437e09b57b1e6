"""Weights in kilograms or pounds (issue 24, item 1), through the local gateway over real HTTP and a real Postgres:
lb in, lb out, exactly; reads in either units; bounds per unit; summaries, series and goals right for mixed units."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import psycopg2
import pytest

from progress_tracking import domain_events
from progress_tracking.models.log import LogUpdate
from progress_tracking.store import appending
from progress_tracking.units import KG_PER_POUND
from tests.helpers import FIRST_VERSION_BODY, assert_error, blocked_by, log, wait_until

# Decimals as a scale or an app sends them. 170.2 is the one a conversion there and back breaks (the positive control
# below); 170.123 and 155.5555 would not survive rounding to 2 decimals either.
POUNDS = [170.2, 165.3, 200.01, 4.41, 1433, 123.45, 170.123, 155.5555]
FIRST_VERSION_KEYS = ["log_id", "user_id", "date", "weight_kg", "workout_done", "calories_burned", "notes"]


def lb_log(api, token, user, pounds, **fields):
    body = {"user_id": user, "date": "2026-01-05", "weight_lb": pounds, **fields}
    response = api.call("POST", "/api/progress/log", token, json=body)
    assert response.status_code == 201, response.text
    return response.json()["log"]


def test_a_conversion_there_and_back_would_not_give_170_2_back():
    # Positive control for the test below: it would catch a service that kept only kilograms.
    assert 170.2 * KG_PER_POUND / KG_PER_POUND != 170.2


def test_a_weight_entered_in_pounds_is_answered_in_pounds_exactly_as_entered(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    created = [lb_log(api, token, user, pounds, date=f"2026-01-{day:02d}") for day, pounds in enumerate(POUNDS, 1)]
    # The write answers in the units the weight came in.
    assert [entry["weight_lb"] for entry in created] == POUNDS
    assert all(entry["weight_unit"] == "lb" and "weight_kg" not in entry for entry in created)

    imperial = api.call("GET", f"/api/progress/{user}", token, params={"units": "imperial"})
    assert [entry["weight_lb"] for entry in imperial.json()["progress_logs"]] == POUNDS
    assert '"weight_lb":170.2,' in imperial.text  # the bytes, not only the parsed number

    metric = api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
    assert [entry["weight_kg"] for entry in metric] == [round(pounds * KG_PER_POUND, 2) for pounds in POUNDS]
    assert all("weight_lb" not in entry and entry["weight_unit"] == "lb" for entry in metric)

    history = api.call("GET", f"/api/progress/log/{created[0]['log_id']}/history", token, params={"units": "imperial"})
    assert history.json()["events"][0]["state"]["weight_lb"] == 170.2
    # Stored as the decimal entered, beside the weight in kg that summaries compute with.
    stored = database.single(lambda cursor: _stored_weight(cursor, created[0]["log_id"]))
    assert stored == ("170.2", 170.2 * KG_PER_POUND)


def test_a_decimal_string_in_pounds_is_accepted_like_one_in_kilograms(api, tokens, new_user):
    user = new_user()
    assert lb_log(api, tokens.user(user), user, "170.20")["weight_lb"] == 170.2


def test_a_first_version_body_is_answered_as_before_with_its_fields_first_and_unchanged(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    body = {"user_id": user, **FIRST_VERSION_BODY, "weight_kg": "71.5"}
    response = api.call("POST", "/api/progress/log", token, json=body)
    logged = response.json()["log"]
    assert list(logged)[: len(FIRST_VERSION_KEYS)] == FIRST_VERSION_KEYS
    assert '"weight_kg":71.5,"workout_done":"Running","calories_burned":510' in response.text
    assert logged["weight_unit"] == "kg" and "weight_lb" not in logged
    listed = api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"][0]
    assert listed == logged
    # The same log in pounds: converted, rounded to 2 decimals.
    imperial = api.call("GET", f"/api/progress/{user}", token, params={"units": "imperial"}).json()["progress_logs"]
    assert imperial[0]["weight_lb"] == round(71.5 / KG_PER_POUND, 2) and "weight_kg" not in imperial[0]


def test_a_weight_in_both_units_is_refused_naming_both(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    both = {"user_id": user, "date": "2026-01-05", "weight_kg": 80, "weight_lb": 176.4}
    refused = assert_error(api.call("POST", "/api/progress/log", token, json=both), 400, "validation_error")
    assert "weight_kg" in refused["details"][0]["message"] and "weight_lb" in refused["details"][0]["message"]
    created = log(api, token, user)
    put = api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"weight_kg": 80, "weight_lb": None})
    assert_error(put, 400, "validation_error")
    # Positive controls: either one alone.
    assert lb_log(api, token, user, 176.4)["weight_lb"] == 176.4
    assert log(api, token, user, weight_kg=80)["weight_kg"] == 80


@pytest.mark.parametrize(
    ("field", "refused", "bound", "accepted"),
    [
        ("weight_lb", 4.4, "4.41", 4.41),
        ("weight_lb", 1433.01, "1433", 1433),
        ("weight_kg", 1.99, "2", 2),
        ("weight_kg", 650.01, "650", 650),
    ],
)
def test_each_unit_has_its_plausible_bounds_named_in_the_400(api, tokens, new_user, field, refused, bound, accepted):
    user = new_user()
    token = tokens.user(user)
    body = {"user_id": user, "date": "2026-01-05"}
    error = assert_error(
        api.call("POST", "/api/progress/log", token, json={**body, field: refused}), 400, "validation_error"
    )
    assert error["details"][0]["field"] == field and bound in error["details"][0]["message"]
    assert api.call("POST", "/api/progress/log", token, json={**body, field: accepted}).status_code == 201


def test_a_put_in_pounds_answers_in_pounds_and_a_put_in_kilograms_replaces_it(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    path = f"/api/progress/log/{log(api, token, user)['log_id']}"
    in_pounds = api.call("PUT", path, token, json={"weight_lb": 181.3}).json()["updated_log"]
    assert (in_pounds["weight_lb"], in_pounds["weight_unit"]) == (181.3, "lb")
    notes_only = api.call("PUT", path, token, json={"notes": "after a run"}).json()["updated_log"]
    assert (notes_only["weight_lb"], notes_only["weight_unit"]) == (181.3, "lb")  # the weight stays as entered
    in_kg = api.call("PUT", path, token, json={"weight_kg": 80.1}).json()["updated_log"]
    assert (in_kg["weight_kg"], in_kg["weight_unit"]) == (80.1, "kg") and "weight_lb" not in in_kg
    listed = api.call("GET", f"/api/progress/{user}", token, params={"units": "imperial"}).json()["progress_logs"]
    assert listed[0]["weight_lb"] == round(80.1 / KG_PER_POUND, 2)
    # A rollback brings the pounds back as they were entered.
    rolled = api.call("POST", f"{path}/rollback", token, json={"to_version": 2}).json()["log"]
    assert (rolled["weight_lb"], rolled["weight_unit"]) == (181.3, "lb")


@pytest.mark.parametrize(
    "path",
    [
        "/api/progress/{user}",
        "/api/progress/summary/{user}",
        "/api/progress/series/{user}",
        "/api/progress/goals/{user}",
        "/api/progress/goals/{user}/history",
        "/api/progress/log/{log_id}/history",
    ],
)
def test_units_are_metric_or_imperial_and_nothing_else(api, tokens, new_user, path):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    assert api.call("PUT", f"/api/progress/goals/{user}", token, json={"target_weight_kg": 75}).status_code == 200
    url = path.format(user=user, log_id=created["log_id"])
    for wrong in ("lb", "kg", "Imperial", ""):
        error = assert_error(api.call("GET", url, token, params={"units": wrong}), 400, "validation_error")
        assert error["details"][0]["field"] == "units"
    for right in ("metric", "imperial"):
        assert api.call("GET", url, token, params={"units": right}).status_code == 200


def test_summary_and_series_are_right_for_mixed_units(api, tokens, new_user):
    # Given one weight in kg and a later one in lb
    user = new_user()
    token = tokens.user(user)
    log(api, token, user, date="2026-01-05", weight_kg=70)
    lb_log(api, token, user, 200, date="2026-01-06")
    in_kg = [70.0, 200 * KG_PER_POUND]

    metric = api.call("GET", f"/api/progress/summary/{user}", token).json()
    assert metric["average_weight"] == round(sum(in_kg) / 2, 2)
    assert (metric["min_weight_kg"], metric["max_weight_kg"], metric["latest_weight_kg"]) == (70, in_kg[1], in_kg[1])
    assert metric["weight_change_kg"] == round(in_kg[1] - 70, 2)

    imperial = api.call("GET", f"/api/progress/summary/{user}", token, params={"units": "imperial"}).json()
    assert imperial["average_weight"] == round(sum(in_kg) / 2 / KG_PER_POUND, 2)
    assert (imperial["min_weight_lb"], imperial["max_weight_lb"]) == (round(70 / KG_PER_POUND, 2), 200)
    assert imperial["latest_weight_lb"] == 200 and imperial["weight_change_lb"] == round(200 - 70 / KG_PER_POUND, 2)
    assert not any(key.endswith("_kg") for key in imperial)

    window = {"bucket": "month", "from": "2026-01-01", "to": "2026-01-31"}
    month = api.call("GET", f"/api/progress/series/{user}", token, params={**window, "units": "imperial"}).json()
    (bucket,) = month["series"]
    assert (bucket["min_weight_lb"], bucket["max_weight_lb"]) == (round(70 / KG_PER_POUND, 2), 200)
    assert bucket["average_weight_lb"] == round(sum(in_kg) / 2 / KG_PER_POUND, 2)
    metric_month = api.call("GET", f"/api/progress/series/{user}", token, params=window).json()["series"][0]
    assert metric_month["average_weight_kg"] == round(sum(in_kg) / 2, 2)


def test_a_summary_in_imperial_leaves_workout_names_alone(api, tokens, new_user):
    # A user's text that looks like a weight field is not one.
    user = new_user()
    token = tokens.user(user)
    log(api, token, user, workout_done="weight_kg")
    summary = api.call("GET", f"/api/progress/summary/{user}", token, params={"units": "imperial"}).json()
    assert summary["workouts"] == {"weight_kg": 1}


def test_goals_take_a_target_in_pounds_and_answer_in_either_units(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    goals = f"/api/progress/goals/{user}"
    both = api.call("PUT", goals, token, json={"target_weight_kg": 75, "target_weight_lb": 165.5})
    assert_error(both, 400, "validation_error")
    set_in_lb = api.call("PUT", goals, token, json={"target_weight_lb": 165.5, "target_date": "2030-01-01"})
    assert set_in_lb.status_code == 200, set_in_lb.text
    assert set_in_lb.json()["goals"]["target_weight_lb"] == 165.5  # answered in the units it was given in
    assert api.call("GET", goals, token).json()["target_weight_kg"] == pytest.approx(165.5 * KG_PER_POUND)
    assert api.call("GET", goals, token, params={"units": "imperial"}).json()["target_weight_lb"] == 165.5
    history = api.call("GET", f"{goals}/history", token, params={"units": "imperial"}).json()
    assert history["events"][0]["state"]["target_weight_lb"] == 165.5

    lb_log(api, token, user, 180.2, date="2026-01-05")
    summary = api.call("GET", f"/api/progress/summary/{user}", token, params={"units": "imperial"}).json()
    weight_goal = summary["goals"]["weight"]
    assert (weight_goal["target_weight_lb"], weight_goal["current_weight_lb"]) == (165.5, 180.2)
    assert weight_goal["remaining_lb"] == round(165.5 - 180.2, 2)
    # Positive control: the same goal in kg.
    assert api.call("PUT", goals, token, json={"target_weight_kg": 75}).json()["goals"]["target_weight_kg"] == 75


def test_events_keep_the_unit_and_the_pounds_as_entered(api, tokens, new_user, database):
    user = new_user()
    created = lb_log(api, tokens.user(user), user, 170.2)
    data = database.single(lambda cursor: _first_event_data(cursor, created["log_id"]))
    assert (data["weight_unit"], data["weight_lb"], data["weight_kg"]) == ("lb", 170.2, 170.2 * KG_PER_POUND)
    detail = domain_events.progress_detail(**_detail_args(), data=data)
    assert (detail["log"]["weight_unit"], detail["log"]["weight_lb"]) == ("lb", 170.2)
    # An event written before migration 0018 says kg and manual.
    old = domain_events.progress_detail(**_detail_args(), data={"date": "2026-01-05", "weight_kg": 80.0})
    assert (old["log"]["weight_unit"], old["log"]["source"], old["log"]["weight_lb"]) == ("kg", "manual", None)


def _detail_args():
    return {
        "position": 1,
        "stream_position": 1,
        "log_id": 1,
        "user_id": "u",
        "version": 1,
        "request_id": None,
        "occurred_at": datetime(2026, 1, 5),
    }


def _stored_weight(cursor, log_id):
    cursor.execute("SELECT weight_lb::text, weight_kg FROM progress_logs WHERE log_id = %s", (log_id,))
    return cursor.fetchone()


def _first_event_data(cursor, log_id):
    cursor.execute("SELECT data FROM progress_events WHERE log_id = %s AND version = 1", (log_id,))
    return cursor.fetchone()[0]


def test_a_put_that_waits_for_the_users_lock_applies_its_unit_to_the_state_it_finds_there(
    api, tokens, new_user, direct_database_url
):
    # Each round: a change in one unit holds the user's lock, uncommitted; a PUT in the other unit waits for it; the
    # held change commits. The PUT's unit rule (pounds kept, or replaced by kg) is applied to the state it finds under
    # the lock, so the last writer's unit and value stand, whichever order the units come in.
    user = new_user()
    token = tokens.user(user)
    log_id = log(api, token, user)["log_id"]
    path = f"/api/progress/log/{log_id}"
    change = appending.Change(actor="holder", request_id=None)
    for round_number in range(6):
        held_in_pounds = round_number % 2 == 0
        held = LogUpdate.model_validate({"weight_lb": 181.3} if held_in_pounds else {"weight_kg": 82.4})
        waiting = {"weight_kg": 80.1} if held_in_pounds else {"weight_lb": 176.6}
        holder = psycopg2.connect(direct_database_url)  # its backend is its own, in the pooler pass too
        try:
            cursor = holder.cursor()
            appending.update(cursor, appending.lock_log(cursor, log_id), held.changes(), change)
            with ThreadPoolExecutor(1) as pool:
                put = pool.submit(api.call, "PUT", path, token, json=waiting)
                assert wait_until(lambda: blocked_by(direct_database_url, holder.get_backend_pid()))
                holder.commit()
                answered = put.result(timeout=30)
        finally:
            holder.close()
        assert answered.status_code == 200, answered.text
        stored = api.call("GET", f"/api/progress/{user}", token, params={"units": "imperial"}).json()
        (listed,) = stored["progress_logs"]
        if held_in_pounds:  # kg came last: the pounds held are gone
            assert (listed["weight_unit"], listed["weight_lb"]) == ("kg", round(80.1 / KG_PER_POUND, 2))
        else:  # pounds came last: as entered
            assert (listed["weight_unit"], listed["weight_lb"]) == ("lb", 176.6)
