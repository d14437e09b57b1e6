"""Goals (an event stream per user), progress toward them in the summary, and the time series, on a real Postgres and
through the local gateway over real HTTP."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progress_tracking import goal_progress, series
from progress_tracking.models.summary import SeriesQuery
from progress_tracking.store import appending, goal_events, rebuild, summary_facts
from progress_tracking.tokens import Identity
from tests.helpers import (
    ALL,
    FIRST_VERSION_BODY,
    assert_error,
    assert_weekly_progress_is_that_of_every_week,
    goal_facts,
    log,
    rows_read_by_a_summary_read,
    stream_version,
)

MACHINE = Identity(principal="tester@clients", scopes=frozenset(), user_id=None, is_client=True)
TODAY = datetime.now(UTC).date()


def goals_path(user: str) -> str:
    return f"/api/progress/goals/{user}"


def put_goals(api, token, user, body, **kwargs):
    return api.call("PUT", goals_path(user), token, json=body, **kwargs)


MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def patch_goals(api, token, user, body, headers=None):
    return api.call("PATCH", goals_path(user), token, data=json.dumps(body), headers={**MERGE_PATCH, **(headers or {})})


# --- goals: set, change, clear, history --------------------------------------------------------------------------


def test_goals_are_set_read_changed_cleared_and_kept_as_a_history(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    target_date = (TODAY + timedelta(days=90)).isoformat()
    assert_error(api.call("GET", goals_path(user), token), 404, "goals_not_found")
    assert_error(api.call("GET", f"{goals_path(user)}/history", token), 404, "goals_not_found")

    first = put_goals(api, token, user, {"target_weight_kg": 75, "target_date": target_date, "weekly_workouts": 3})
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"1"'
    goals = first.json()["goals"]
    assert first.json()["message"] == "Goals set"
    assert goals | {"target_weight_set_at": "", "updated_at": ""} == {
        "user_id": user,
        "target_weight_kg": 75,
        "target_date": target_date,
        "target_weight_set_at": "",
        "weekly_workouts": 3,
        "weekly_calories_burned": None,
        "version": 1,
        "updated_at": "",
    }
    assert goals["target_weight_set_at"] == goals["updated_at"]
    read = api.call("GET", goals_path(user), token)
    assert read.status_code == 200 and read.json() == goals and read.headers["ETag"] == '"1"'

    # Same weight target, another weekly goal: the weight goal keeps the day it was set.
    second = put_goals(api, token, user, {"target_weight_kg": 75, "weekly_calories_burned": 2000}).json()["goals"]
    assert second["version"] == 2 and second["weekly_workouts"] is None and second["target_date"] is None
    assert second["target_weight_set_at"] == goals["target_weight_set_at"]
    assert second["updated_at"] >= goals["updated_at"]
    # A new weight target is a new goal: set now.
    third = put_goals(api, token, user, {"target_weight_kg": 74}).json()["goals"]
    assert third["target_weight_set_at"] == third["updated_at"] > goals["target_weight_set_at"]

    cleared = api.call("DELETE", goals_path(user), token)
    assert cleared.status_code == 200
    assert cleared.json() == {"message": "Goals cleared", "user_id": user, "version": 4}
    assert_error(api.call("GET", goals_path(user), token), 404, "goals_not_found")
    assert_error(api.call("DELETE", goals_path(user), token), 404, "goals_not_found")
    again = put_goals(api, token, user, {"weekly_workouts": 2}).json()["goals"]
    assert again["version"] == 5 and again["target_weight_set_at"] is None

    history = api.call("GET", f"{goals_path(user)}/history", token)
    assert history.status_code == 200
    events = history.json()["events"]
    assert [(e["version"], e["type"]) for e in events] == [
        (1, "set"),
        (2, "changed"),
        (3, "changed"),
        (4, "cleared"),
        (5, "set"),
    ]
    assert events[0]["state"] == {
        "target_weight_kg": 75,
        "target_date": target_date,
        "weekly_workouts": 3,
        "weekly_calories_burned": None,
    }
    assert events[3]["state"] == dict.fromkeys(events[0]["state"])
    assert {e["actor"] for e in events} == {user} and all(e["request_id"] for e in events)
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times)


def test_the_goals_history_pages_like_the_list(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    for workouts in (1, 2, 3):
        put_goals(api, token, user, {"weekly_workouts": workouts})
    path = f"{goals_path(user)}/history"
    first = api.call("GET", path, token, params={"limit": 2}).json()
    assert [e["version"] for e in first["events"]] == [1, 2] and first["user_id"] == user
    last = api.call("GET", path, token, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [e["version"] for e in last["events"]] == [3] and last["next_cursor"] is None
    # A cursor of a log's history (same shape, another history) is not one of the goals' history.
    log_id = log(api, token, user)["log_id"]
    api.call("PUT", f"/api/progress/log/{log_id}", token, json={"weight_kg": 70})
    of_a_log = api.call("GET", f"/api/progress/log/{log_id}/history", token, params={"limit": 1}).json()
    for bad in ["not-a-cursor", of_a_log["next_cursor"]]:
        assert_error(api.call("GET", path, token, params={"cursor": bad}), 400, "invalid_cursor")


def test_if_match_guards_goal_changes_and_a_refusal_writes_nothing(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    # No goals yet: a conditional PUT has nothing to match (412); the unconditional one sets them.
    assert_error(
        put_goals(api, token, user, {"weekly_workouts": 3}, headers={"If-Match": '"1"'}), 412, "precondition_failed"
    )
    assert put_goals(api, token, user, {"weekly_workouts": 3}).status_code == 200
    assert put_goals(api, token, user, {"weekly_workouts": 4}).status_code == 200
    version_before = stream_version(database, user)

    stale = put_goals(api, token, user, {"weekly_workouts": 9}, headers={"If-Match": '"1"'})
    assert_error(stale, 412, "precondition_failed")
    assert_error(api.call("DELETE", goals_path(user), token, headers={"If-Match": '"1"'}), 412, "precondition_failed")
    assert api.call("GET", goals_path(user), token).json()["weekly_workouts"] == 4
    assert len(api.call("GET", f"{goals_path(user)}/history", token).json()["events"]) == 2
    assert stream_version(database, user) == version_before

    fresh = put_goals(api, token, user, {"weekly_workouts": 5}, headers={"If-Match": '"1", "2"'})
    assert fresh.status_code == 200 and fresh.headers["ETag"] == '"3"'
    assert api.call("DELETE", goals_path(user), token, headers={"If-Match": '"3"'}).status_code == 200


def test_every_goal_write_bumps_the_users_stream_so_a_stored_summary_turns_stale(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    log(api, token, user, date=TODAY.isoformat(), weight_kg=80)
    assert api.call("GET", f"/api/progress/summary/{user}", token).json()["goals"] is None  # stored now
    before = stream_version(database, user)
    put_goals(api, token, user, {"target_weight_kg": 70})
    assert stream_version(database, user) == before + 1
    goals = api.call("GET", f"/api/progress/summary/{user}", token).json()["goals"]
    assert goals["version"] == 1 and goals["weight"]["current_weight_kg"] == 80
    api.call("DELETE", goals_path(user), token)
    assert stream_version(database, user) == before + 2
    assert api.call("GET", f"/api/progress/summary/{user}", token).json()["goals"] is None


def test_erasure_removes_goals_and_their_events(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    log(api, token, user)
    put_goals(api, token, user, {"weekly_workouts": 3})
    put_goals(api, token, user, {"weekly_workouts": 4})
    admin = tokens.client(scope="delete:progress admin:progress")
    erased = api.call("DELETE", f"/api/progress/user/{user}/logs", admin, params={"erase": "true"}).json()["erased"]
    assert erased["goals"] == 1 and erased["goal_events"] == 2

    def remaining(cursor):
        cursor.execute(
            "SELECT (SELECT count(*) FROM goal_events WHERE user_id = %(u)s),"
            " (SELECT count(*) FROM user_goals WHERE user_id = %(u)s)",
            {"u": user},
        )
        return cursor.fetchone()

    assert database.run(remaining) == (0, 0)
    assert_error(api.call("GET", goals_path(user), token), 404, "goals_not_found")


# --- goals: PATCH (JSON Merge Patch) -----------------------------------------------------------------------------


def _all_four(target_date: str) -> dict:
    return {"target_weight_kg": 76, "target_date": target_date, "weekly_workouts": 3, "weekly_calories_burned": 1500}


def test_a_patch_of_one_goal_changes_it_and_leaves_the_others(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    target_date = (TODAY + timedelta(days=90)).isoformat()
    set_at = put_goals(api, token, user, _all_four(target_date)).json()["goals"]["target_weight_set_at"]

    patched = patch_goals(api, token, user, {"weekly_workouts": 4})
    assert patched.status_code == 200, patched.text
    assert patched.headers["ETag"] == '"2"'
    goals = patched.json()["goals"]
    assert {name: goals[name] for name in _all_four(target_date)} == {**_all_four(target_date), "weekly_workouts": 4}
    assert goals["target_weight_set_at"] == set_at  # the weight goal did not change, so neither did its start
    assert api.call("GET", goals_path(user), token).json() == goals
    # The event is a goals change as a PUT's: the whole goals after the patch.
    events = api.call("GET", f"{goals_path(user)}/history", token).json()["events"]
    assert [e["type"] for e in events] == ["set", "changed"]
    assert events[1]["state"] == {**_all_four(target_date), "weekly_workouts": 4}

    # The control: a PUT of the same body replaces the goals, clearing the three it leaves out.
    put = put_goals(api, token, user, {"weekly_workouts": 5}).json()["goals"]
    assert (put["target_weight_kg"], put["target_date"], put["weekly_calories_burned"]) == (None, None, None)


def test_null_in_a_patch_clears_that_goal_only_and_a_new_target_weight_restarts_its_goal(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    target_date = (TODAY + timedelta(days=90)).isoformat()
    first = put_goals(api, token, user, _all_four(target_date)).json()["goals"]

    cleared = patch_goals(api, token, user, {"weekly_calories_burned": None}).json()["goals"]
    assert cleared["weekly_calories_burned"] is None
    assert (cleared["target_weight_kg"], cleared["target_date"], cleared["weekly_workouts"]) == (76, target_date, 3)

    moved = patch_goals(api, token, user, {"target_weight_kg": 75.5}).json()["goals"]
    assert (moved["target_weight_kg"], moved["target_date"], moved["version"]) == (75.5, target_date, 3)
    assert moved["target_weight_set_at"] > first["target_weight_set_at"]

    # Clearing the weight goal with its date leaves the weekly workouts.
    left = patch_goals(api, token, user, {"target_weight_kg": None, "target_date": None}).json()["goals"]
    assert (left["target_weight_kg"], left["target_date"], left["weekly_workouts"]) == (None, None, 3)


def test_a_patch_takes_application_json_too_and_sets_goals_a_user_did_not_have(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    first = api.call("PATCH", goals_path(user), token, json={"weekly_workouts": 2})
    assert first.status_code == 200 and first.headers["ETag"] == '"1"'
    assert first.json()["goals"]["weekly_workouts"] == 2 and first.json()["goals"]["target_weight_kg"] is None
    events = api.call("GET", f"{goals_path(user)}/history", token).json()["events"]
    assert [e["type"] for e in events] == ["set"]


def test_if_match_guards_a_patch_and_a_refusal_writes_nothing(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    # No goals yet: a conditional PATCH has nothing to match.
    assert_error(patch_goals(api, token, user, {"weekly_workouts": 3}, {"If-Match": '"1"'}), 412, "precondition_failed")
    assert_error(api.call("GET", goals_path(user), token), 404, "goals_not_found")
    put_goals(api, token, user, {"weekly_workouts": 3, "weekly_calories_burned": 900})
    assert patch_goals(api, token, user, {"weekly_workouts": 4}).status_code == 200
    version_before = stream_version(database, user)

    stale = patch_goals(api, token, user, {"weekly_calories_burned": None}, {"If-Match": '"1"'})
    assert_error(stale, 412, "precondition_failed")
    assert api.call("GET", goals_path(user), token).json()["weekly_calories_burned"] == 900
    assert len(api.call("GET", f"{goals_path(user)}/history", token).json()["events"]) == 2
    assert stream_version(database, user) == version_before

    # The control: the current version matches.
    fresh = patch_goals(api, token, user, {"weekly_calories_burned": None}, {"If-Match": '"2"'})
    assert fresh.status_code == 200 and fresh.headers["ETag"] == '"3"'
    assert fresh.json()["goals"]["weekly_calories_burned"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),  # a patch that changes nothing
        ({"target_weight_kg": None}, "target_date"),  # would leave target_date without its weight
        ({"weekly_workouts": None, "target_weight_kg": None, "target_date": None}, None),  # would leave no goal
        ({"weekly_workouts": 0}, "weekly_workouts"),
        ({"target_weight_kg": "70kg"}, "target_weight_kg"),
        ({"target_date": (TODAY - timedelta(days=2)).isoformat()}, "target_date"),
        ({"weekly_workouts": 3, "mood": "great"}, "mood"),
    ],
)
def test_a_patch_that_breaks_a_rule_is_a_400_naming_the_field_and_writes_nothing(api, tokens, new_user, body, field):
    user = new_user()
    token = tokens.user(user)
    target_date = (TODAY + timedelta(days=90)).isoformat()
    put_goals(api, token, user, {"target_weight_kg": 76, "target_date": target_date, "weekly_workouts": 3})
    error = assert_error(patch_goals(api, token, user, body), 400, "validation_error")
    if field:
        assert field in [detail["field"] for detail in error["details"]], error
    assert api.call("GET", goals_path(user), token).json()["version"] == 1
    # The control: a valid patch of the same goals is taken.
    assert patch_goals(api, token, user, {"weekly_workouts": 5}).status_code == 200


def test_patches_of_different_goals_at_the_same_moment_both_stay(api, tokens, new_user):
    from concurrent.futures import ThreadPoolExecutor

    token = tokens.client()
    with ThreadPoolExecutor(2) as pool:
        for round_ in range(12):
            user = new_user(f"patch-race-{round_}")
            put_goals(api, token, user, {"weekly_workouts": 1, "weekly_calories_burned": 100})
            answers = list(
                pool.map(  # a request each, on its own connection
                    lambda body, user=user: requests.patch(
                        f"{api.base_url}{goals_path(user)}",
                        data=json.dumps(body),
                        headers={**MERGE_PATCH, "Authorization": f"Bearer {token}"},
                        timeout=15,
                    ),
                    [{"weekly_workouts": 7}, {"weekly_calories_burned": 700}],
                )
            )
            assert [answer.status_code for answer in answers] == [200, 200]
            goals = api.call("GET", goals_path(user), token).json()
            assert (goals["weekly_workouts"], goals["weekly_calories_burned"], goals["version"]) == (7, 700, 3)


# --- goals: input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"target_weight_kg": 0}, "target_weight_kg"),
        ({"target_weight_kg": 1000.5}, "target_weight_kg"),
        ({"target_weight_kg": "70kg"}, "target_weight_kg"),
        ({"target_weight_kg": 70, "target_date": "0"}, "target_date"),  # only YYYY-MM-DD is a date
        ({"target_weight_kg": 70, "target_date": (TODAY - timedelta(days=2)).isoformat()}, "target_date"),
        ({"target_weight_kg": 70, "target_date": (TODAY + timedelta(days=4000)).isoformat()}, "target_date"),
        ({"target_weight_kg": 70, "target_date": "2027-02-30"}, "target_date"),
        ({"target_date": (TODAY + timedelta(days=30)).isoformat(), "weekly_workouts": 3}, None),
        ({"weekly_workouts": 0}, "weekly_workouts"),
        ({"weekly_workouts": 101}, "weekly_workouts"),
        ({"weekly_workouts": 2.5}, "weekly_workouts"),
        ({"weekly_calories_burned": 0}, "weekly_calories_burned"),
        ({"weekly_calories_burned": 700_001}, "weekly_calories_burned"),
        ({"weekly_workouts": 3, "mood": "great"}, "mood"),
    ],
)
def test_put_goals_rejects_bad_bodies_and_writes_nothing(api, tokens, new_user, body, field):
    user = new_user()
    error = assert_error(put_goals(api, tokens.user(user), user, body), 400, "validation_error")
    if field:
        assert field in [detail["field"] for detail in error["details"]]
    assert_error(api.call("GET", goals_path(user), tokens.user(user)), 404, "goals_not_found")


def test_put_goals_accepts_the_edges_of_every_bound(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    for body in (
        {"target_weight_kg": 650, "target_date": TODAY.isoformat(), "weekly_workouts": 100},
        {"target_weight_kg": 2, "target_date": (TODAY - timedelta(days=1)).isoformat(), "weekly_workouts": 1},
        {"target_weight_kg": 70, "target_date": (TODAY + timedelta(days=3600)).isoformat()},
        {"weekly_calories_burned": 700_000},
        {"weekly_calories_burned": 0.5},
    ):
        assert put_goals(api, token, user, body).status_code == 200, body


def test_goals_need_a_user_the_user_profile_service_knows(api, tokens, new_user):
    client = tokens.client()
    assert_error(put_goals(api, client, "ghost-goals", {"weekly_workouts": 3}), 400, "unknown_user")
    assert put_goals(api, client, new_user(), {"weekly_workouts": 3}).status_code == 200


@pytest.mark.parametrize("word", ["goals", "series"])
def test_goals_and_series_are_reserved_words_no_user_id_can_be(api, tokens, word, user_profile):
    user_profile.known.add(word)
    client = tokens.client()
    body = {"user_id": word, **FIRST_VERSION_BODY}
    error = assert_error(api.call("POST", "/api/progress/log", client, json=body), 400, "validation_error")
    assert "reserved" in error["message"] + str(error["details"])
    error = assert_error(put_goals(api, client, word, {"weekly_workouts": 3}), 400, "validation_error")
    assert "reserved" in error["message"]
    # Positive control: the same word with another spelling is an ordinary id.
    user_profile.known.add(word.upper())
    assert api.call("POST", "/api/progress/log", client, json={**body, "user_id": word.upper()}).status_code == 201


# --- scopes and ownership ----------------------------------------------------------------------------------------

NEW_ROUTES = [
    ("PUT", "/api/progress/goals/{user}", "write:progress"),
    ("PATCH", "/api/progress/goals/{user}", "write:progress"),
    ("GET", "/api/progress/goals/{user}", "read:progress"),
    ("GET", "/api/progress/goals/{user}/history", "read:progress"),
    ("DELETE", "/api/progress/goals/{user}", "delete:progress"),
    ("GET", "/api/progress/series/{user}", "read:progress"),
]


def _prepared(api, tokens, new_user):
    user = new_user()
    assert put_goals(api, tokens.user(user), user, {"weekly_workouts": 3}).status_code == 200
    return user


@pytest.mark.parametrize(("method", "path_template", "needed"), NEW_ROUTES)
def test_each_new_route_needs_its_scope(api, tokens, new_user, method, path_template, needed):
    user = _prepared(api, tokens, new_user)
    path = path_template.format(user=user)
    body = {"weekly_workouts": 4} if method in ("PUT", "PATCH") else None
    others = " ".join(scope for scope in ALL.split() if scope != needed)
    assert_error(api.call(method, path, tokens.user(user, scope=others), json=body), 403, "insufficient_scope")
    assert api.call(method, path, tokens.user(user, scope=needed), json=body).status_code == 200


@pytest.mark.parametrize(("method", "path_template", "needed"), NEW_ROUTES)
def test_end_users_cannot_touch_another_users_goals_or_series(api, tokens, new_user, method, path_template, needed):
    owner, intruder = _prepared(api, tokens, new_user), new_user()
    path = path_template.format(user=owner)
    body = {"weekly_workouts": 9} if method in ("PUT", "PATCH") else None
    assert_error(api.call(method, path, tokens.user(intruder), json=body), 403, "forbidden")
    assert api.call("GET", goals_path(owner), tokens.user(owner)).json()["weekly_workouts"] == 3
    # Positive controls: the owner, and a machine client with the scope, may.
    assert api.call(method, path, tokens.user(owner), json=body).status_code == 200
    if method != "DELETE":
        assert api.call(method, path, tokens.client(), json=body).status_code == 200


@pytest.mark.parametrize(("method", "path_template", "needed"), NEW_ROUTES)
def test_new_routes_refuse_requests_without_a_valid_token(api, method, path_template, needed):
    response = api.call(method, path_template.format(user="someone"), headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized", "code": "unauthorized"}


# --- goal progress: the facts the database gives --------------------------------------------------------------


def _set_goal_on(database, user: str, day: date) -> None:
    """Move the day the weight goal was set (database time otherwise): the test's stand-in for a calendar."""

    def move(cursor):
        cursor.execute(
            "UPDATE user_goals SET target_weight_set_at = %s WHERE user_id = %s",
            (datetime(day.year, day.month, day.day, 12, tzinfo=UTC), user),
        )

    database.run(move)


def test_goal_facts_pick_the_start_the_current_weight_and_the_trend(api, tokens, new_user, database):
    # Given: weights on Jan 1, 10, 20, 25, 30 (2026) and a goal set on Jan 12 (+ a log without weight on Jan 11).
    user = new_user()
    token = tokens.user(user)
    for day, weight in [(1, 90.0), (10, 88.0), (20, 86.0), (25, 85.0), (30, 84.0)]:
        log(api, token, user, date=f"2026-01-{day:02d}", weight_kg=weight)
    log(api, token, user, date="2026-01-11", weight_kg=None, workout_done="yoga")
    put_goals(api, token, user, {"target_weight_kg": 80})
    _set_goal_on(database, user, date(2026, 1, 12))
    facts = goal_facts(database, user, datetime.now(UTC))
    # Start: the latest weight on or before Jan 12 (Jan 10); current: Jan 30.
    assert (facts.start_weight, facts.start_date) == (88.0, date(2026, 1, 10))
    assert (facts.current_weight, facts.current_date) == (84.0, date(2026, 1, 30))
    # Trend: the 28 days ending Jan 30 are Jan 3..30, so Jan 10, 20, 25, 30 at x = -20, -10, -5, 0 days:
    # mean x = -8.75, mean y = 85.75; slope = Σ(dx·dy) / Σ(dx²) = -43.75 / 218.75 = -0.2 kg a day.
    xs, ys = [-20, -10, -5, 0], [88.0, 86.0, 85.0, 84.0]
    mx, my = sum(xs) / 4, sum(ys) / 4
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    assert facts.trend_points == 4 and facts.trend_slope_per_day == pytest.approx(slope)
    assert slope == pytest.approx(-0.2)

    # A goal set before any log: the start is the first weight logged after it.
    _set_goal_on(database, user, date(2025, 12, 1))
    facts = goal_facts(database, user, datetime.now(UTC))
    assert (facts.start_weight, facts.start_date) == (90.0, date(2026, 1, 1))


def test_a_weight_goal_reads_two_months_of_logs_at_most_whoever_stopped_weighing_long_ago(database, new_user):
    # Given a weight on 2022-03-10 and one on 2025-11-20, 1,300 daily logs without a weight between them, and a weight
    # goal set on 2024-06-15 (in a month without weights)...
    user = new_user()
    change = appending.Change(actor="t", request_id=None)

    def write(cursor):
        appending.log_new(cursor, user, {"date": date(2022, 3, 10), "weight_kg": 90.0}, change)
        for day in range(1300):
            entry = {"date": date(2022, 4, 1) + timedelta(days=day), "workout_done": "Run"}
            appending.log_new(cursor, user, entry, change)
        appending.log_new(cursor, user, {"date": date(2025, 11, 20), "weight_kg": 80.0}, change)

    database.run(write)
    database.run(lambda cursor: goal_events.write(cursor, user, {"target_weight_kg": 75.0}, "t", None))
    _set_goal_on(database, user, date(2024, 6, 15))
    # ...the start is the weight before the goal, the current one the latest, each found through the months...
    facts = goal_facts(database, user, datetime.now(UTC))
    assert (facts.start_weight, facts.start_date) == (90.0, date(2022, 3, 10))
    assert (facts.current_weight, facts.current_date) == (80.0, date(2025, 11, 20))
    # ...and a stale summary reads the logs of a few months, not the 1,302.
    assert rows_read_by_a_summary_read(database, user)["progress_logs"] < 130
    # The control: set before every log, the start is the first weight after it.
    _set_goal_on(database, user, date(2021, 1, 1))
    facts = goal_facts(database, user, datetime.now(UTC))
    assert (facts.start_weight, facts.start_date) == (90.0, date(2022, 3, 10))
    _set_goal_on(database, user, date(2022, 3, 11))  # the day after the first weight: still it
    facts = goal_facts(database, user, datetime.now(UTC))
    assert facts.start_date == date(2022, 3, 10)


def test_the_readme_worked_example_from_the_database(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    for day, weight in [("01-05", 91.0), ("01-09", 90.0), ("01-16", 89.0), ("01-23", 87.5), ("01-30", 86.5)]:
        log(api, token, user, date=f"2026-{day}", weight_kg=weight)
    put_goals(api, token, user, {"target_weight_kg": 80, "target_date": (TODAY + timedelta(days=1)).isoformat()})
    _set_goal_on(database, user, date(2026, 1, 10))
    facts = goal_facts(database, user, datetime.now(UTC))
    weight = goal_progress.weight_progress(facts.model_copy(update={"target_date": date(2026, 3, 31)}))
    assert (weight.start_weight_kg, weight.current_weight_kg, weight.remaining_kg) == (90.0, 86.5, -6.5)
    assert (weight.fraction_done, weight.trend_kg_per_week, weight.trend_points) == (0.35, -1.252, 5)
    assert (weight.projected_date, weight.on_track) == (date(2026, 3, 8), True)


def test_the_summary_reports_progress_toward_every_goal(api, tokens, new_user, database):
    # Given: today's ISO week and the two before it; 3 workouts in each of the last two weeks, 1 so far this week.
    user = new_user()
    token = tokens.user(user)
    monday = TODAY - timedelta(days=TODAY.weekday())
    for week in (1, 2):
        for offset in range(3):
            day = monday - timedelta(weeks=week) + timedelta(days=offset)
            log(api, token, user, date=day.isoformat(), weight_kg=80.0 - offset, calories_burned=300)
    log(api, token, user, date=monday.isoformat(), weight_kg=78.0, calories_burned=200)
    put_goals(
        api,
        token,
        user,
        {
            "target_weight_kg": 76,
            "target_date": (TODAY + timedelta(days=30)).isoformat(),
            "weekly_workouts": 3,
            "weekly_calories_burned": 1000,
        },
    )
    _set_goal_on(database, user, monday - timedelta(weeks=2))
    goals = api.call("GET", f"/api/progress/summary/{user}", token).json()["goals"]
    assert goals["weekly_workouts"] == {
        "target": 3,
        "week_start": monday.isoformat(),
        "this_week": 1,
        "completed_this_week": False,
        "streak_weeks": 2,
    }
    assert goals["weekly_calories_burned"]["this_week"] == 200
    assert goals["weekly_calories_burned"]["streak_weeks"] == 0  # 900 a week: short of 1000
    weight = goals["weight"]
    assert weight["start_weight_kg"] == 80.0 and weight["current_weight_kg"] == 78.0
    assert weight["fraction_done"] == 0.5 and weight["remaining_kg"] == -2.0 and weight["reached"] is False
    assert weight["trend_points"] == 7 and weight["trend_kg_per_week"] is not None
    # The weekly logs dip and recover: whatever the fit, on_track agrees with the projection and the target date.
    if weight["projected_date"] is None:
        assert weight["on_track"] is False
    else:
        assert weight["on_track"] == (weight["projected_date"] <= weight["target_date"])


def weekly_logs(database, user: str, weeks_ago: list[int]) -> None:
    """A workout of 100 kcal on every day of each of those ISO weeks (0: this one)."""
    change = appending.Change(actor="t", request_id=None)
    monday = TODAY - timedelta(days=TODAY.weekday())

    def write(cursor):
        for week in weeks_ago:
            for day in range(7):
                entry = {
                    "date": monday - timedelta(weeks=week, days=-day),
                    "workout_done": "Run",
                    "calories_burned": 100.0,
                }
                appending.log_new(cursor, user, entry, change)

    database.run(write)


def test_a_weekly_goal_reads_the_weeks_back_only_as_far_as_its_streak_goes(database, new_user):
    # Given 39 weeks of daily workouts before this one but for a gap 10 weeks ago, and a goal of 3 workouts a week...
    user = new_user()
    weekly_logs(database, user, [week for week in range(40) if week != 10])
    database.run(lambda cursor: goal_events.write(cursor, user, {"weekly_workouts": 3}, "t", None))
    # ...the streak is the 9 weeks since the gap, and the read stops there: the 2 weeks from last week on, and the
    # 8 before them up to the gap, plus the one that showed it.
    read = rows_read_by_a_summary_read(database, user)
    assert read["progress_log_weeks"] <= 12 and read.get("progress_logs", 0) < 40
    facts = database.run(lambda cursor: summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)))
    assert goal_progress.progress(facts.goals, TODAY).weekly_workouts.streak_weeks == 9
    # The control: with the gap filled, the streak, and the weeks read, go back 39 weeks.
    weekly_logs(database, user, [10])
    assert rows_read_by_a_summary_read(database, user)["progress_log_weeks"] >= 39
    facts = database.run(lambda cursor: summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)))
    assert goal_progress.progress(facts.goals, TODAY).weekly_workouts.streak_weeks == 39
    # And a week emptied again splits the run: the streak is the 4 weeks since.
    monday = TODAY - timedelta(days=TODAY.weekday())

    def empty_week(cursor):
        cursor.execute(
            "SELECT log_id FROM progress_logs WHERE user_id = %s AND date >= %s AND date < %s",
            (user, monday - timedelta(weeks=5), monday - timedelta(weeks=4)),
        )
        for (log_id,) in cursor.fetchall():
            appending.delete(cursor, appending.lock_log(cursor, log_id), appending.Change(actor="t", request_id=None))

    database.run(empty_week)
    facts = database.run(lambda cursor: summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)))
    assert goal_progress.progress(facts.goals, TODAY).weekly_workouts.streak_weeks == 4
    assert database.run(rebuild.compare_projection).consistent


@pytest.mark.parametrize("computed_weeks_ago", [0, 3, 12])
def test_weekly_progress_from_the_stored_facts_equals_that_from_every_week_on_any_later_day(
    database, new_user, computed_weeks_ago
):
    # Weeks that fall short (1 workout), are missing, or meet both targets, around the facts' first week.
    user = new_user()
    weekly_logs(database, user, [0, 1, 2, 3, 5, 6, 7, 8, 9, 13, 14, 16, 17, 18])
    one = appending.Change(actor="t", request_id=None)
    short_week = TODAY - timedelta(days=TODAY.weekday(), weeks=15)  # within a run
    database.run(lambda cursor: appending.log_new(cursor, user, {"date": short_week, "workout_done": "Run"}, one))
    database.run(
        lambda cursor: goal_events.write(cursor, user, {"weekly_workouts": 5, "weekly_calories_burned": 600}, "t", None)
    )
    assert_weekly_progress_is_that_of_every_week(
        database, user, datetime.now(UTC) - timedelta(weeks=computed_weeks_ago)
    )


# --- series ------------------------------------------------------------------------------------------------------


def fold_series(logs: list[dict], bucket: str, first: date, last: date) -> list[dict]:
    """The expected series, computed without the service's SQL or bucket helpers."""

    def start_of(day: date) -> date:
        if bucket == "day":
            return day
        if bucket == "week":
            return date.fromisocalendar(*day.isocalendar()[:2], 1)
        return date(day.year, day.month, 1)

    starts, cursor = [], start_of(first)
    while cursor <= start_of(last):
        starts.append(cursor)
        cursor = start_of(cursor + timedelta(days=32 if bucket == "month" else 7 if bucket == "week" else 1))
    grouped: dict[date, list[dict]] = defaultdict(list)
    for entry in logs:
        grouped[start_of(entry["date"])].append(entry)
    expected = []
    for start in starts:
        members = grouped.get(start, [])
        weights = [m["weight_kg"] for m in members if m["weight_kg"] is not None]
        expected.append(
            {
                "start": start,
                "logs": len(members),
                "workouts": sum(m["workout_done"] is not None for m in members),
                "total_calories_burned": sum(m["calories_burned"] or 0 for m in members),
                "average_weight_kg": sum(weights) / len(weights) if weights else None,
                "min_weight_kg": min(weights, default=None),
                "max_weight_kg": max(weights, default=None),
            }
        )
    return expected


log_entries = st.lists(
    st.fixed_dictionaries(
        {
            "date": st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)),
            "weight_kg": st.none() | st.floats(min_value=30, max_value=200, allow_nan=False).map(lambda w: round(w, 1)),
            "workout_done": st.none() | st.sampled_from(["run", "yoga"]),
            "calories_burned": st.none() | st.integers(min_value=0, max_value=2000).map(float),
        }
    ).filter(lambda e: e["weight_kg"] is not None or e["workout_done"] is not None or e["calories_burned"] is not None),
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    logs=log_entries,
    bucket=st.sampled_from(["day", "week", "month"]),
    span=st.tuples(
        st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)),
        st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)),
    ),
)
def test_the_series_equals_an_independent_fold_of_the_logs_for_every_bucket_size(database, logs, bucket, span):
    user = f"series-{uuid.uuid4().hex[:10]}"
    first, last = sorted(span)
    change = appending.Change(actor="t", request_id=None)
    for entry in logs:
        database.run(lambda cursor, entry=entry: appending.log_new(cursor, user, entry, change))
    query = SeriesQuery.model_validate({"bucket": bucket, "from": first.isoformat(), "to": last.isoformat()})
    try:
        got = series.series(database, MACHINE, user, query)
    except Exception as error:  # only a range over 400 buckets is refused
        assert bucket == "day" and (last - first).days + 1 > 400, error
        return
    in_range = [e for e in logs if got.start <= e["date"] <= got.end]
    expected = fold_series(in_range, bucket, first, last)
    assert [entry.start for entry in got.series] == [entry["start"] for entry in expected]
    for entry, wanted in zip(got.series, expected, strict=True):
        assert entry.logs == wanted["logs"] and entry.workouts == wanted["workouts"]
        assert entry.total_calories_burned == pytest.approx(wanted["total_calories_burned"], abs=0.006)
        assert entry.min_weight_kg == wanted["min_weight_kg"] and entry.max_weight_kg == wanted["max_weight_kg"]
        if wanted["average_weight_kg"] is None:
            assert entry.average_weight_kg is None
        else:
            assert entry.average_weight_kg == pytest.approx(wanted["average_weight_kg"], abs=0.006)
    assert got.series[0].start <= first and got.series[-1].end >= last
    assert all(b.end + timedelta(days=1) == a.start for b, a in zip(got.series, got.series[1:], strict=False))


def test_series_over_http_has_empty_buckets_and_widens_to_whole_weeks(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    log(api, token, user, date="2026-03-03", weight_kg=80, workout_done="run", calories_burned=300)  # Tuesday
    log(api, token, user, date="2026-03-05", weight_kg=79, workout_done=None, calories_burned=None)
    log(api, token, user, date="2026-03-18", weight_kg=78, workout_done="yoga", calories_burned=100)
    params = {"bucket": "week", "from": "2026-03-04", "to": "2026-03-18"}
    body = api.call("GET", f"/api/progress/series/{user}", token, params=params).json()
    assert (body["bucket"], body["start"], body["end"], body["as_of"]) == ("week", "2026-03-02", "2026-03-22", None)
    assert body["series"] == [
        {
            "start": "2026-03-02",
            "end": "2026-03-08",
            "logs": 2,
            "workouts": 1,
            "total_calories_burned": 300,
            "average_weight_kg": 79.5,
            "min_weight_kg": 79,
            "max_weight_kg": 80,
        },
        {
            "start": "2026-03-09",
            "end": "2026-03-15",
            "logs": 0,
            "workouts": 0,
            "total_calories_burned": 0,
            "average_weight_kg": None,
            "min_weight_kg": None,
            "max_weight_kg": None,
        },
        {
            "start": "2026-03-16",
            "end": "2026-03-22",
            "logs": 1,
            "workouts": 1,
            "total_calories_burned": 100,
            "average_weight_kg": 78,
            "min_weight_kg": 78,
            "max_weight_kg": 78,
        },
    ]
    monthly = api.call("GET", f"/api/progress/series/{user}", token, params={"bucket": "month", "to": "2026-03-31"})
    assert len(monthly.json()["series"]) == 30 and monthly.json()["series"][-1]["logs"] == 3


def test_series_allows_400_buckets_and_refuses_401_clearly(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    first = date(2026, 1, 1)
    ok = {"bucket": "day", "from": first.isoformat(), "to": (first + timedelta(days=399)).isoformat()}
    assert len(api.call("GET", f"/api/progress/series/{user}", token, params=ok).json()["series"]) == 400
    too_many = {**ok, "to": (first + timedelta(days=400)).isoformat()}
    error = assert_error(
        api.call("GET", f"/api/progress/series/{user}", token, params=too_many), 400, "validation_error"
    )
    assert "401" in error["message"] and "400" in error["message"]
    months = {"bucket": "month", "from": "1990-01-01", "to": "2026-01-01"}  # 433 months
    assert_error(api.call("GET", f"/api/progress/series/{user}", token, params=months), 400, "validation_error")
    for bad in ({"bucket": "year"}, {"from": "2026-02-01", "to": "2026-01-01"}, {"from": "1899-12-31"}):
        assert_error(api.call("GET", f"/api/progress/series/{user}", token, params=bad), 400, "validation_error")
    # Out of range dates are explained in the API's words, not Python's (`datetime.date(1900, 1, 1)`).
    early = assert_error(
        api.call("GET", f"/api/progress/series/{user}", token, params={"from": "0001-01-01"}), 400, "validation_error"
    )
    assert [detail["message"] for detail in early["details"]] == ["date must be from 1900-01-01 to 2999-12-31"]


def test_series_as_of_shows_the_logs_as_they_stood(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user, date="2026-04-01", weight_kg=80)
    params = {"bucket": "month", "from": "2026-04-01", "to": "2026-04-30"}
    moment = api.call("GET", f"/api/progress/series/{user}", token, params=params).json()
    assert moment["series"][0]["max_weight_kg"] == 80
    as_of = created["updated_at"]
    api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"weight_kg": 70})
    log(api, token, user, date="2026-04-02", weight_kg=75)
    now = api.call("GET", f"/api/progress/series/{user}", token, params=params).json()["series"][0]
    assert (now["logs"], now["max_weight_kg"], now["min_weight_kg"]) == (2, 75, 70)
    then = api.call("GET", f"/api/progress/series/{user}", token, params={**params, "as_of": as_of}).json()
    assert then["as_of"] is not None
    assert (then["series"][0]["logs"], then["series"][0]["max_weight_kg"]) == (1, 80)
