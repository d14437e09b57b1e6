"""Input rules through the gateway over real HTTP: dates that are only dates, numbers that first-version clients send
as strings, characters no one-line field may hold, and the user ids the routes reserve. Every refusal has a positive
control next to it."""

from __future__ import annotations

import json

import pytest

from tests.helpers import FIRST_VERSION_BODY, assert_error, log


def put(api, token, log_id, body):
    return api.call("PUT", f"/api/progress/log/{log_id}", token, json=body)


def post(api, token, body):
    return api.call("POST", "/api/progress/log", token, json=body)


# --- dates -------------------------------------------------------------------------------------------------------


def test_put_can_change_the_date_to_any_valid_date(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    response = put(api, token, created["log_id"], {"date": "2026-11-02"})
    assert response.status_code == 200, response.text
    assert response.json()["updated_log"]["date"] == "2026-11-02"
    listed = api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
    assert [entry["date"] for entry in listed] == ["2026-11-02"]


@pytest.mark.parametrize("bad", ["0", "-0", "86400", "20260105", "2026-1-5", " 2026-01-05", "2026-01-05T00:00:00", 0])
def test_only_yyyy_mm_dd_is_a_date_on_post_and_put(api, tokens, new_user, bad):
    user = new_user()
    token = tokens.user(user)
    error = assert_error(
        post(api, token, {"user_id": user, **FIRST_VERSION_BODY, "date": bad}), 400, "validation_error"
    )
    assert "date" in [detail["field"] for detail in error["details"]]
    created = log(api, token, user)  # the positive control: the same body with a real date
    assert_error(put(api, token, created["log_id"], {"date": bad}), 400, "validation_error")
    assert put(api, token, created["log_id"], {"date": "2026-01-06"}).status_code == 200
    assert api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"][0]["date"] == "2026-01-06"


@pytest.mark.parametrize("route", ["/api/progress/{user}", "/api/progress/summary/{user}"])
def test_only_yyyy_mm_dd_is_a_date_in_query_ranges(api, tokens, new_user, route):
    user = new_user()
    token = tokens.user(user)
    path = route.format(user=user)
    for bad in ("0", "86400", "2026-11-01T00:00:00"):
        assert_error(api.call("GET", path, token, params={"from": bad}), 400, "validation_error")
    assert api.call("GET", path, token, params={"from": "2026-11-01"}).status_code == 200  # the positive control


# --- numbers sent as strings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "answered"), [("71", 71), ("71.5", 71.5), ("0.25", 0.25)])
def test_a_plain_decimal_string_is_accepted_for_a_number_and_answered_as_one(api, tokens, new_user, sent, answered):
    user = new_user()
    token = tokens.user(user)
    response = post(api, token, {"user_id": user, **FIRST_VERSION_BODY, "weight_kg": sent, "calories_burned": sent})
    assert response.status_code == 201, response.text
    logged = response.json()["log"]
    assert (logged["weight_kg"], logged["calories_burned"]) == (answered, answered)
    assert json.loads(response.text)["log"]["weight_kg"] == answered and not isinstance(logged["weight_kg"], str)
    updated = put(api, token, logged["log_id"], {"weight_kg": "72.5", "calories_burned": "300"})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["updated_log"]["weight_kg"], updated.json()["updated_log"]["calories_burned"]) == (72.5, 300)


@pytest.mark.parametrize("bad", ["71kg", "1e400", "1e2", "NaN", "Infinity", "", " 71", "0x10", "7_1", "١٢", True, [71]])
@pytest.mark.parametrize("field", ["weight_kg", "calories_burned"])
def test_anything_else_is_not_a_number(api, tokens, new_user, bad, field):
    user = new_user()
    token = tokens.user(user)
    error = assert_error(post(api, token, {"user_id": user, **FIRST_VERSION_BODY, field: bad}), 400, "validation_error")
    assert field in [detail["field"] for detail in error["details"]]
    created = log(api, token, user)
    assert_error(put(api, token, created["log_id"], {field: bad}), 400, "validation_error")
    assert put(api, token, created["log_id"], {field: "70"}).status_code == 200  # the positive control


def test_number_strings_keep_the_bounds(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    for change in (
        {"weight_kg": "0"},
        {"weight_kg": "1000.5"},
        {"calories_burned": "-1"},
        {"calories_burned": "1" * 40},
    ):
        assert_error(post(api, token, {"user_id": user, **FIRST_VERSION_BODY, **change}), 400, "validation_error")
    assert post(api, token, {"user_id": user, **FIRST_VERSION_BODY, "weight_kg": "1000"}).status_code == 201


# --- characters, blanks and signed zeros -------------------------------------------------------------------------


@pytest.mark.parametrize("c1", ["\x80", "\x85", "\x9f"])
@pytest.mark.parametrize("field", ["workout_done", "notes"])
def test_c1_control_characters_are_refused_in_text_fields(api, tokens, new_user, c1, field):
    user = new_user()
    token = tokens.user(user)
    body = {"user_id": user, **FIRST_VERSION_BODY, field: f"run{c1}ning"}
    assert_error(post(api, token, body), 400, "validation_error")
    created = log(api, token, user, **{field: "run\xa0ning"})  # U+00A0, just past C1, is a character like any other
    assert created[field] == "run\xa0ning"
    assert_error(put(api, token, created["log_id"], {field: f"x{c1}"}), 400, "validation_error")


@pytest.mark.parametrize("c1", ["\x80", "\x9f"])
def test_c1_control_characters_are_refused_in_user_ids(api, tokens, new_user, c1):
    user = new_user()
    odd = f"{user}{c1}"
    assert_error(post(api, tokens.client(), {"user_id": odd, **FIRST_VERSION_BODY}), 400, "validation_error")
    assert_error(api.call("GET", f"/api/progress/{odd}", tokens.client()), 400, "validation_error")
    assert post(api, tokens.client(), {"user_id": user, **FIRST_VERSION_BODY}).status_code == 201


@pytest.mark.parametrize("blank", [" ", "   ", "\u3000", "\xa0 "])
def test_whitespace_only_workout_is_refused(api, tokens, new_user, blank):
    user = new_user()
    token = tokens.user(user)
    assert_error(
        post(api, token, {"user_id": user, **FIRST_VERSION_BODY, "workout_done": blank}), 400, "validation_error"
    )
    created = log(api, token, user, workout_done=" Yoga ")  # surrounding blanks around a word are fine
    assert_error(put(api, token, created["log_id"], {"workout_done": blank}), 400, "validation_error")
    summary = api.call("GET", f"/api/progress/summary/{user}", token).json()
    assert summary["workouts"] == {"yoga": 1}


def test_negative_zero_calories_are_stored_and_answered_as_zero(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    raw = json.dumps({"user_id": user, **FIRST_VERSION_BODY, "calories_burned": -0.0})
    response = api.call("POST", "/api/progress/log", token, data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert '"calories_burned":-0' not in response.text.replace(" ", "")
    assert response.json()["log"]["calories_burned"] == 0
    log_id = response.json()["id"]
    updated = api.call(
        "PUT",
        f"/api/progress/log/{log_id}",
        token,
        data='{"calories_burned": -0.0}',
        headers={"Content-Type": "application/json"},
    )
    assert updated.status_code == 200 and '"calories_burned":-0' not in updated.text.replace(" ", "")
    listed = api.call("GET", f"/api/progress/{user}", token)
    assert '"calories_burned":-0' not in listed.text.replace(" ", "")
    assert listed.json()["progress_logs"][0]["calories_burned"] == 0


# --- user ids the routes reserve ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reserved", ["log", "summary", "user", "goals", "series"])
def test_user_ids_that_are_route_words_cannot_log(api, tokens, user_profile, reserved):
    user_profile.known.add(reserved)
    error = assert_error(
        post(api, tokens.client(), {"user_id": reserved, **FIRST_VERSION_BODY}), 400, "validation_error"
    )
    assert error["details"][0]["field"] == "user_id"
    assert reserved in error["details"][0]["message"]
    user_profile.known.add(f"{reserved}s-owner")  # a longer id that merely starts with the word is an ordinary id
    assert post(api, tokens.client(), {"user_id": f"{reserved}s-owner", **FIRST_VERSION_BODY}).status_code == 201
