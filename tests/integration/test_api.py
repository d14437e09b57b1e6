"""Every endpoint through the local gateway over real HTTP: real tokens, the real authorizer, a real Postgres and a
real User Profile stand-in."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import ALL, FIRST_VERSION_BODY, assert_error, log

# --- happy paths ------------------------------------------------------------------------------------------------


def test_post_with_a_first_version_body_logs_and_returns_201_with_location(api, tokens, new_user):
    user = new_user()
    response = api.call("POST", "/api/progress/log", tokens.user(user), json={"user_id": user, **FIRST_VERSION_BODY})
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Progress logged successfully"
    assert body["id"] == body["log"]["log_id"]
    assert response.headers["Location"] == f"/api/progress/log/{body['id']}"
    assert response.headers["X-Request-Id"]
    logged = body["log"]
    assert logged | {"log_id": 0, "created_at": "", "updated_at": ""} == {
        "log_id": 0,
        "user_id": user,
        "date": "2026-01-05",
        "weight_kg": 82.4,
        "workout_done": "Running",
        "calories_burned": 510,
        "notes": None,
        "version": 1,
        "created_at": "",
        "updated_at": "",
        # Round 3's fields come after the first version's, which keep their values and order.
        "source": "manual",
        "device": None,
        "weight_unit": "kg",
    }
    assert logged["created_at"].endswith("Z") and logged["created_at"] == logged["updated_at"]


def test_get_lists_a_users_logs_oldest_first(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    later = log(api, token, user, date="2026-02-01")
    earlier = log(api, token, user, date="2026-01-01")
    response = api.call("GET", f"/api/progress/{user}", token)
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == user
    assert [entry["log_id"] for entry in body["progress_logs"]] == [earlier["log_id"], later["log_id"]]
    assert body["next_cursor"] is None


def test_get_pages_with_a_cursor_and_filters_by_date(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    ids = [log(api, token, user, date=f"2026-03-{day:02d}")["log_id"] for day in range(1, 8)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.call("GET", f"/api/progress/{user}", token, params=params).json()
        seen += [entry["log_id"] for entry in body["progress_logs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    ranged = api.call("GET", f"/api/progress/{user}", token, params={"from": "2026-03-02", "to": "2026-03-04"})
    assert [entry["date"] for entry in ranged.json()["progress_logs"]] == ["2026-03-02", "2026-03-03", "2026-03-04"]


def test_summary_of_a_user_without_logs_is_empty_with_200(api, tokens, new_user):
    user = new_user()
    response = api.call("GET", f"/api/progress/summary/{user}", tokens.user(user))
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == user
    assert body["average_weight"] is None and body["average_calories_burned"] is None
    assert body["log_count"] == 0 and body["workouts"] == {} and body["longest_streak_days"] == 0


def test_summary_reports_averages_trend_workouts_and_streaks(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in (6, 5, 4, 1, 0)]
    for day, weight, workout, calories in zip(
        days,
        [80.0, 79.5, None, 79.0, 78.6],
        ["Running", "running ", "Yoga", None, "Yoga"],
        [500, 300, 200, None, 0],
        strict=True,
    ):
        fields = {"date": day.isoformat(), "weight_kg": weight, "workout_done": workout, "calories_burned": calories}
        log(api, token, user, **fields)
    body = api.call("GET", f"/api/progress/summary/{user}", token).json()
    assert body == {
        "user_id": user,
        "log_count": 5,
        "first_date": days[0].isoformat(),
        "last_date": today.isoformat(),
        "average_weight": 79.28,
        "latest_weight_kg": 78.6,
        "weight_change_kg": -1.4,
        "min_weight_kg": 78.6,
        "max_weight_kg": 80.0,
        "average_calories_burned": 250.0,
        "total_calories_burned": 1000.0,
        "workouts": {"running": 2, "yoga": 2},
        "workout_kinds": 2,
        "other_workouts": 0,
        "current_streak_days": 2,
        "longest_streak_days": 3,
        "goals": None,
    }


def test_put_changes_only_the_given_fields_and_bumps_the_version(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    response = api.call(
        "PUT", f"/api/progress/log/{created['log_id']}", token, json={"notes": "hills", "weight_kg": 82}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Progress log updated"
    updated = body["updated_log"]
    assert updated["notes"] == "hills" and updated["weight_kg"] == 82 and updated["version"] == 2
    assert updated["workout_done"] == created["workout_done"] and updated["created_at"] == created["created_at"]
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(created["updated_at"])
    cleared = api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"notes": None}).json()
    assert cleared["updated_log"]["notes"] is None and cleared["updated_log"]["version"] == 3


def test_delete_one_log_removes_it_from_reads(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    kept, gone = log(api, token, user), log(api, token, user)
    response = api.call("DELETE", f"/api/progress/log/{gone['log_id']}", token)
    assert response.status_code == 200
    assert response.json() == {"message": "Progress log deleted", "deleted_log_id": gone["log_id"]}
    remaining = api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
    assert [entry["log_id"] for entry in remaining] == [kept["log_id"]]
    assert_error(api.call("DELETE", f"/api/progress/log/{gone['log_id']}", token), 404, "log_not_found")
    assert_error(
        api.call("PUT", f"/api/progress/log/{gone['log_id']}", token, json={"notes": "x"}), 404, "log_not_found"
    )


def test_delete_all_logs_of_a_user_counts_them_and_leaves_others_alone(api, tokens, new_user):
    user, other = new_user(), new_user()
    for _ in range(3):
        log(api, tokens.user(user), user)
    log(api, tokens.user(other), other)
    response = api.call("DELETE", f"/api/progress/user/{user}/logs", tokens.user(user))
    assert response.status_code == 200
    assert response.json() == {"message": "All progress logs for user deleted", "deleted_log_count": 3}
    assert api.call("GET", f"/api/progress/{user}", tokens.user(user)).json()["progress_logs"] == []
    assert len(api.call("GET", f"/api/progress/{other}", tokens.user(other)).json()["progress_logs"]) == 1
    again = api.call("DELETE", f"/api/progress/user/{user}/logs", tokens.user(user))
    assert again.json()["deleted_log_count"] == 0


def test_machine_token_with_the_scope_acts_for_any_user(api, tokens, new_user):
    user = new_user()
    client = tokens.client()
    created = log(api, client, user)
    assert api.call("GET", f"/api/progress/{user}", client).json()["progress_logs"][0]["log_id"] == created["log_id"]


def test_an_end_user_whose_sub_ends_in_at_clients_is_not_a_machine_client(api, tokens, new_user):
    # Given another user's log, and a user token whose sub merely ends in "@clients" (no client-credentials grant)
    victim = new_user()
    client = tokens.client()
    created = log(api, client, victim)
    mallory = tokens.user("mallory@clients")
    # Then it may touch nothing of the victim's, while the real machine client (gty) still may (positive control)
    assert_error(api.call("GET", f"/api/progress/{victim}", mallory), 403, "forbidden")
    assert_error(api.call("DELETE", f"/api/progress/log/{created['log_id']}", mallory), 404, "log_not_found")
    assert api.call("GET", f"/api/progress/{victim}", client).status_code == 200


def test_one_token_works_across_every_route_despite_the_cached_policy(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    calls = [
        ("GET", f"/api/progress/{user}", None),
        ("GET", f"/api/progress/summary/{user}", None),
        ("PUT", f"/api/progress/log/{created['log_id']}", {"notes": "n"}),
        ("DELETE", f"/api/progress/log/{created['log_id']}", None),
        ("DELETE", f"/api/progress/user/{user}/logs", None),
    ]
    for method, path, body in calls:
        assert api.call(method, path, token, json=body).status_code == 200, (method, path)


# --- the User Profile service -----------------------------------------------------------------------------------


def count_logs(api, token, user):
    return len(api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"])


def test_unknown_user_is_a_400_and_nothing_is_written(api, tokens):
    client = tokens.client()
    response = api.call("POST", "/api/progress/log", client, json={"user_id": "ghost-1", **FIRST_VERSION_BODY})
    assert_error(response, 400, "unknown_user")
    assert count_logs(api, client, "ghost-1") == 0


@pytest.mark.parametrize("mode", ["error", "garbage", "slow"])
def test_user_service_failures_are_503_and_nothing_is_written(api, tokens, new_user, user_profile, mode):
    user = new_user()
    token = tokens.user(user)
    user_profile.mode, user_profile.delay = mode, 5.0
    started = datetime.now(UTC)
    response = api.call("POST", "/api/progress/log", token, json={"user_id": user, **FIRST_VERSION_BODY})
    elapsed = (datetime.now(UTC) - started).total_seconds()
    assert_error(response, 503, "user_service_unavailable")
    assert elapsed < 4.5  # the client gives up after 3 s in all
    user_profile.mode = "ok"
    assert count_logs(api, token, user) == 0


# --- authentication and scopes ----------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/progress/someone"),
    ("GET", "/api/progress/summary/someone"),
    ("POST", "/api/progress/log"),
    ("PUT", "/api/progress/log/1"),
    ("DELETE", "/api/progress/log/1"),
    ("DELETE", "/api/progress/user/someone/logs"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.token"])
def test_missing_or_invalid_tokens_are_401_on_every_route(api, method, path, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.call(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized", "code": "unauthorized"}
    assert response.headers["X-Request-Id"]


def test_expired_and_foreign_audience_tokens_are_401(api, tokens, new_user):
    user = new_user()
    for token in (tokens.user(user, ttl_seconds=-120), tokens.key.access_token(user_id=user)):
        assert api.call("GET", f"/api/progress/{user}", token).status_code == 401


def test_a_token_stops_working_when_it_expires_despite_the_cached_policy(api, tokens, new_user):
    # Given a token with 2 s of life left, the verifier's leeway included, whose policy the gateway has cached
    from progress_tracking.authz import TOKEN_LEEWAY_SECONDS

    user = new_user()
    token = tokens.user(user, ttl_seconds=2 - TOKEN_LEEWAY_SECONDS)
    assert api.call("GET", f"/api/progress/{user}", token).status_code == 200
    # When it has expired, leeway included
    time.sleep(3)
    # Then every route refuses it, as the gateway refuses a token it never saw
    for method, path in [("GET", f"/api/progress/{user}"), ("POST", "/api/progress/log")]:
        response = api.call(method, path, token, json={"user_id": user, **FIRST_VERSION_BODY})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["message"] == "Unauthorized"


@pytest.mark.parametrize(
    ("method", "path_template", "needed"),
    [
        ("GET", "/api/progress/{user}", "read:progress"),
        ("GET", "/api/progress/summary/{user}", "read:progress"),
        ("POST", "/api/progress/log", "write:progress"),
        ("PUT", "/api/progress/log/{log_id}", "write:progress"),
        ("DELETE", "/api/progress/log/{log_id}", "delete:progress"),
        ("DELETE", "/api/progress/user/{user}/logs", "delete:progress"),
    ],
)
def test_each_route_needs_its_scope(api, tokens, new_user, method, path_template, needed):
    user = new_user()
    created = log(api, tokens.user(user), user)
    others = " ".join(scope for scope in ALL.split() if scope != needed)
    path = path_template.format(user=user, log_id=created["log_id"])
    body = {"user_id": user, **FIRST_VERSION_BODY} if method == "POST" else {"notes": "x"} if method == "PUT" else None
    assert_error(api.call(method, path, tokens.user(user, scope=others), json=body), 403, "insufficient_scope")
    assert api.call(method, path, tokens.user(user, scope=needed), json=body).status_code in (200, 201)


def test_end_users_cannot_touch_other_users_data(api, tokens, new_user):
    owner, intruder = new_user(), new_user()
    created = log(api, tokens.user(owner), owner)
    token = tokens.user(intruder)
    assert_error(api.call("GET", f"/api/progress/{owner}", token), 403, "forbidden")
    assert_error(api.call("GET", f"/api/progress/summary/{owner}", token), 403, "forbidden")
    assert_error(
        api.call("POST", "/api/progress/log", token, json={"user_id": owner, **FIRST_VERSION_BODY}), 403, "forbidden"
    )
    assert_error(
        api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"notes": "x"}), 404, "log_not_found"
    )
    assert_error(api.call("DELETE", f"/api/progress/log/{created['log_id']}", token), 404, "log_not_found")
    assert_error(api.call("DELETE", f"/api/progress/user/{owner}/logs", token), 403, "forbidden")
    assert count_logs(api, tokens.user(owner), owner) == 1


# --- bad input --------------------------------------------------------------------------------------------------


def tomorrow_plus(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "2026-02-30"}, "date"),
        ({"date": "05/01/2026"}, "date"),
        ({"date": 20260105}, "date"),
        ({"date": tomorrow_plus(2)}, "date"),
        ({"weight_kg": 0}, "weight_kg"),
        ({"weight_kg": 1000.5}, "weight_kg"),
        ({"weight_kg": "82kg"}, "weight_kg"),
        ({"weight_kg": True}, "weight_kg"),
        ({"calories_burned": -1}, "calories_burned"),
        ({"calories_burned": 100001}, "calories_burned"),
        ({"workout_done": "x" * 201}, "workout_done"),
        ({"workout_done": 7}, "workout_done"),
        ({"notes": "n" * 2001}, "notes"),
        ({"notes": "bad\x00byte"}, "notes"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "u" * 129}, "user_id"),
        ({"user_id": 42}, "user_id"),
        ({"mood": "great"}, "mood"),
    ],
)
def test_post_rejects_bad_fields_with_details_naming_them(api, tokens, new_user, change, field):
    user = new_user()
    body = {"user_id": user, **FIRST_VERSION_BODY, **change}
    error = assert_error(api.call("POST", "/api/progress/log", tokens.client(), json=body), 400, "validation_error")
    assert field in [detail["field"] for detail in error["details"]]


def test_post_accepts_the_edges_of_every_bound(api, tokens, new_user):
    user = new_user()
    body = {
        "user_id": user,
        "date": tomorrow_plus(1),
        "weight_kg": 650,
        "calories_burned": 0,
        "workout_done": "w" * 200,
        "notes": "n" * 2000,
    }
    response = api.call("POST", "/api/progress/log", tokens.user(user), json=body)
    assert response.status_code == 201, response.text
    assert response.json()["log"]["calories_burned"] == 0


def test_post_needs_user_id_date_and_a_measurement(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    for body in (
        {"date": "2026-01-01", "weight_kg": 80},
        {"user_id": user, "weight_kg": 80},
        {"user_id": user, "date": "2026-01-01", "notes": "only notes"},
    ):
        assert_error(api.call("POST", "/api/progress/log", token, json=body), 400, "validation_error")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (b"[1, 2]", "validation_error"),  # JSON, but not an object
        (b'"text"', "validation_error"),
        (b"\xff\xfe{}", "malformed_json"),  # not UTF-8
        (b'{"user_id": NaN}', "validation_error"),  # NaN parses, but is no user id
    ],
)
def test_post_rejects_malformed_bodies(api, tokens, raw, code):
    assert_error(api.call("POST", "/api/progress/log", tokens.client(), data=raw), 400, code)


def test_post_rejects_a_body_over_64_kib_with_413(api, tokens, new_user):
    user = new_user()
    body = {"user_id": user, **FIRST_VERSION_BODY, "notes": "x" * (70 * 1024)}
    assert_error(api.call("POST", "/api/progress/log", tokens.user(user), json=body), 413, "payload_too_large")


@pytest.mark.parametrize(
    "body",
    [{}, {"user_id": "someone-else"}, {"date": None}, {"weight_kg": -5}, {"unknown": 1}, {"date": "not a date"}],
)
def test_put_rejects_bad_bodies(api, tokens, new_user, body):
    user = new_user()
    created = log(api, tokens.user(user), user)
    response = api.call("PUT", f"/api/progress/log/{created['log_id']}", tokens.user(user), json=body)
    assert_error(response, 400, "validation_error")
    unchanged = api.call("GET", f"/api/progress/{user}", tokens.user(user)).json()["progress_logs"][0]
    assert unchanged["version"] == 1


def test_put_cannot_leave_a_log_without_measurements(api, tokens, new_user):
    user = new_user()
    created = log(api, tokens.user(user), user, workout_done=None, calories_burned=None)
    response = api.call("PUT", f"/api/progress/log/{created['log_id']}", tokens.user(user), json={"weight_kg": None})
    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("log_id", ["0", "-1", "abc", "1.5", "99999999999999999999", "1e3"])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_bad_log_ids_in_the_path_are_400(api, tokens, method, log_id):
    response = api.call(method, f"/api/progress/log/{log_id}", tokens.client(), json={"notes": "x"})
    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_log_id_that_does_not_exist_is_404(api, tokens, method):
    response = api.call(method, "/api/progress/log/9223372036854775807", tokens.client(), json={"notes": "x"})
    assert_error(response, 404, "log_not_found")


@pytest.mark.parametrize(
    "path_template", ["/api/progress/{u}", "/api/progress/summary/{u}", "/api/progress/user/{u}/logs"]
)
def test_over_long_user_ids_in_the_path_are_400(api, tokens, path_template):
    method = "DELETE" if path_template.endswith("/logs") else "GET"
    response = api.call(method, path_template.format(u="u" * 129), tokens.client())
    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 0}, "validation_error"),
        ({"limit": 1001}, "validation_error"),
        ({"limit": "ten"}, "validation_error"),
        ({"from": "2026-13-01"}, "validation_error"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "validation_error"),
        ({"sort": "desc"}, "validation_error"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "W10"}, "invalid_cursor"),  # base64 of "[]": not a cursor this service issued
    ],
)
def test_list_rejects_bad_query_parameters(api, tokens, new_user, params, code):
    user = new_user()
    assert_error(api.call("GET", f"/api/progress/{user}", tokens.user(user), params=params), 400, code)


def test_unknown_routes_are_404_route_not_found(api, tokens):
    for method, path in [("GET", "/api/nothing-here"), ("PATCH", "/api/progress/log/1")]:
        response = api.call(method, path, tokens.client())
        assert_error(response, 404, "route_not_found")
        assert response.headers["X-Request-Id"]


def test_sql_metacharacters_and_unicode_are_stored_exactly(api, tokens, new_user):
    user = new_user("o'brien;--")
    token = tokens.user(user)
    notes = "Robert'); DROP TABLE progress_events;-- 🏃‍♀️ naïve 日本語\nline two"
    created = log(api, token, user, notes=notes, workout_done='Zumba "fun" %s')
    listed = api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
    assert listed[0]["notes"] == notes and listed[0]["workout_done"] == 'Zumba "fun" %s'
    assert listed[0]["log_id"] == created["log_id"]
