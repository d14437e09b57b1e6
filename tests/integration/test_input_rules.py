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


@pytest.mark.parametrize(("sent", "answered"), [("71", 71), ("71.5", 71.5), ("2.25", 2.25)])
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
        {"weight_kg": "650.5"},
        {"calories_burned": "-1"},
        {"calories_burned": "1" * 40},
    ):
        assert_error(post(api, token, {"user_id": user, **FIRST_VERSION_BODY, **change}), 400, "validation_error")
    assert post(api, token, {"user_id": user, **FIRST_VERSION_BODY, "weight_kg": "650"}).status_code == 201


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


@pytest.mark.parametrize("reserved", ["log", "logs", "summary", "user", "goals", "series"])
def test_user_ids_that_are_route_words_cannot_log(api, tokens, user_profile, reserved):
    user_profile.known.add(reserved)
    error = assert_error(
        post(api, tokens.client(), {"user_id": reserved, **FIRST_VERSION_BODY}), 400, "validation_error"
    )
    assert error["details"][0]["field"] == "user_id"
    assert reserved in error["details"][0]["message"]
    user_profile.known.add(f"{reserved}s-owner")  # a longer id that merely starts with the word is an ordinary id
    assert post(api, tokens.client(), {"user_id": f"{reserved}s-owner", **FIRST_VERSION_BODY}).status_code == 201


# --- the erasure flag ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["yes", "1", "on", "t", "True", "TRUE", "", "no", "0", "off", "False"])
def test_only_true_erases_and_only_false_or_no_flag_deletes(api, tokens, new_user, flag):
    user = new_user()
    token = tokens.user(user, scope="read:progress write:progress delete:progress admin:progress")
    created = log(api, token, user)
    path = f"/api/progress/user/{user}/logs"
    assert_error(api.call("DELETE", path, token, params={"erase": flag}), 400, "validation_error")
    history = api.call("GET", f"/api/progress/log/{created['log_id']}/history", token)
    assert [event["type"] for event in history.json()["events"]] == ["logged"]  # nothing deleted, nothing erased
    # The positive controls: false deletes (recoverably), true erases.
    deleted = api.call("DELETE", path, token, params={"erase": "false"})
    assert deleted.json() == {"message": "All progress logs for user deleted", "deleted_log_count": 1}
    erased = api.call("DELETE", path, token, params={"erase": "true"})
    assert erased.status_code == 200 and erased.json()["erased"]["events"] == 2
    assert api.call("DELETE", path, token).json()["deleted_log_count"] == 0  # no flag: delete-all


# --- as_of ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "0",
        "-1",
        "1767225600",
        "1767225600.5",
        "2026-01-01",
        "2026-01-01T00:00:00",
        "2026-01-01 00:00:00Z",
        "20260101T000000Z",
        "2026-01-01T00:00Z",
        "2026-01-01T00:00:00+0100",
        "2026-W01-1T00:00:00Z",
    ],
)
@pytest.mark.parametrize("route", ["/api/progress/{user}", "/api/progress/series/{user}"])
def test_as_of_is_an_rfc_3339_date_time_with_an_offset_and_nothing_else(api, tokens, new_user, bad, route):
    user = new_user()
    token = tokens.user(user)
    path = route.format(user=user)
    error = assert_error(api.call("GET", path, token, params={"as_of": bad}), 400, "validation_error")
    assert "as_of" in [detail["field"] for detail in error["details"]]
    for good in ("2026-01-01T00:00:00Z", "2026-01-01t01:30:00.25+01:30", "2026-01-01T00:00:00-00:00"):
        assert api.call("GET", path, token, params={"as_of": good}).status_code == 200, good  # the positive controls


# --- weights -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [5e-324, 0.5, 1.99, 650.01, 1000, "1.5", "651"])
def test_a_weight_is_a_plausible_body_weight(api, tokens, new_user, user_profile, bad):
    user = new_user()
    token = tokens.user(user)
    error = assert_error(
        post(api, token, {"user_id": user, **FIRST_VERSION_BODY, "weight_kg": bad}), 400, "validation_error"
    )
    assert [detail["field"] for detail in error["details"]] == ["weight_kg"]
    created = log(api, token, user)
    assert_error(put(api, token, created["log_id"], {"weight_kg": bad}), 400, "validation_error")
    goals_path = f"/api/progress/goals/{user}"
    assert_error(api.call("PUT", goals_path, token, json={"target_weight_kg": bad}), 400, "validation_error")
    # The positive controls: the bounds themselves.
    for good in (2, 650, "2.0", "650"):
        assert put(api, token, created["log_id"], {"weight_kg": good}).status_code == 200, good
        assert api.call("PUT", goals_path, token, json={"target_weight_kg": good}).status_code == 200, good
    assert [
        entry["weight_kg"] for entry in api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
    ] == [650]


# --- no negative zero in any answer --------------------------------------------------------------------------------


def negative_zeros(text: str) -> list[str]:
    """The numbers of a JSON text that are a zero with a minus sign (`-0.0`, `-0`, `-0e0` …)."""
    found: list[str] = []

    def number(literal: str) -> float:
        if float(literal) == 0 and literal.startswith("-"):
            found.append(literal)
        return float(literal)

    json.loads(text, parse_float=number, parse_int=number)
    return found


def test_goal_progress_and_the_summary_never_answer_a_negative_zero(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    # Weights that round to zero from below: latest − first = −0.003, target − current = −0.001, and the progress
    # (current − start) / (target − start) = 0 / −0.001.
    log(api, token, user, date="2026-01-05", weight_kg=80.004)
    log(api, token, user, date="2026-01-06", weight_kg=80.001)
    goals = api.call("PUT", f"/api/progress/goals/{user}", token, json={"target_weight_kg": 80})
    assert goals.status_code == 200, goals.text
    summary = api.call("GET", f"/api/progress/summary/{user}", token)
    weight = summary.json()["goals"]["weight"]
    assert (summary.json()["weight_change_kg"], weight["remaining_kg"], weight["fraction_done"]) == (0, 0, 0)
    assert negative_zeros(summary.text) == []
    assert negative_zeros('{"a": -0.0, "b": [1, -0]}') == ["-0.0", "-0"]  # the control: the check finds them
