"""The import (POST /api/progress/import/{user_id}) through the local gateway over real HTTP, on a real Postgres: an
export or another tool's CSV read whole, refused whole with every bad row named, a dry run that writes nothing, and a
second import of the same file that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ALL, assert_error, count_rows, log

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def import_path(user: str) -> str:
    return f"/api/progress/import/{user}"


def post_import(api, token, user, body: str, content_type: str = "application/json", **params):
    return api.call(
        "POST", import_path(user), token, data=body.encode(), headers={"Content-Type": content_type}, params=params
    )


def imported(api, token, user, body: str, content_type: str = "application/json", **params) -> dict:
    response = post_import(api, token, user, body, content_type, **params)
    assert response.status_code == 200, response.text[:1000]
    return response.json()


def exported(api, token, user) -> dict:
    response = api.call("GET", f"/api/progress/export/{user}", token)
    assert response.status_code == 200 and response.json()["next_cursor"] is None, response.text[:300]
    return response.json()


def listed(api, token, user) -> list[dict]:
    return api.call("GET", f"/api/progress/{user}", token, params={"limit": 1000}).json()["progress_logs"]


def values(logs: list[dict]) -> list[tuple]:
    names = ("date", "weight_kg", "workout_done", "calories_burned", "notes")
    return sorted(tuple(entry[name] for name in names) for entry in logs)


@pytest.fixture
def source(api, tokens, new_user) -> tuple[str, dict]:
    """A user with logs (one changed, one deleted) and goals, and their export."""
    user = new_user("import-source")
    token = tokens.user(user, ALL)
    made = [log(api, token, user, date=f"2026-01-0{day}", notes=f"day {day}") for day in (1, 2, 3)]
    assert api.call("PUT", f"/api/progress/log/{made[0]['log_id']}", token, json={"weight_kg": 79.5}).status_code == 200
    assert api.call("DELETE", f"/api/progress/log/{made[1]['log_id']}", token).status_code == 200
    goals = {"target_weight_kg": 75, "weekly_workouts": 3}
    assert api.call("PUT", f"/api/progress/goals/{user}", token, json=goals).status_code == 200
    return user, exported(api, token, user)


def test_an_export_imports_into_another_user_with_its_logs_and_goals(api, tokens, new_user, source):
    _, document = source
    user = new_user("import")
    token = tokens.user(user, ALL)
    result = imported(api, token, user, json.dumps(document))
    assert (result["format"], result["dry_run"], result["created"], result["unchanged"]) == ("json", False, 2, 0)
    assert result["goals"] == "created"
    assert [item["index"] for item in result["items"]] == [0, 1]
    assert [item["client_record_id"] for item in result["items"]] == [
        f"export:{entry['log_id']}" for entry in document["logs"]
    ]
    assert values(listed(api, token, user)) == values(document["logs"])
    goals = api.call("GET", f"/api/progress/goals/{user}", token).json()
    assert (goals["target_weight_kg"], goals["weekly_workouts"]) == (75, 3)


def test_importing_the_same_file_twice_changes_nothing(api, tokens, new_user, database, source):
    _, document = source
    user = new_user("import")
    token = tokens.user(user, ALL)
    imported(api, token, user, json.dumps(document))
    rows = count_rows(database, user)
    again = imported(api, token, user, json.dumps(document))
    assert (again["created"], again["updated"], again["unchanged"], again["goals"]) == (0, 0, 2, "unchanged")
    assert count_rows(database, user) == rows  # not one event, log or goal written
    # Positive control: an export after a change of one log updates that log alone
    first = document["logs"][0]
    later = {**document, "logs": [{**first, "weight_kg": 70.0, "version": first["version"] + 1}], "goals": None}
    changed = imported(api, token, user, json.dumps(later))
    assert (changed["updated"], changed["created"], changed["goals"]) == (1, 0, None)
    assert 70.0 in [entry["weight_kg"] for entry in listed(api, token, user)]


def test_a_dry_run_answers_the_plan_and_writes_nothing(api, tokens, new_user, database, source):
    _, document = source
    user = new_user("import")
    token = tokens.user(user, ALL)
    planned = imported(api, token, user, json.dumps(document), dry_run="true")
    assert (planned["dry_run"], planned["created"], planned["goals"]) == (True, 2, "created")
    assert all(item["log_id"] is None for item in planned["items"])
    assert sum(count_rows(database, user).values()) == 0
    # Positive control: the import itself, then a dry run of the same file plans no change
    done = imported(api, token, user, json.dumps(document))
    replanned = imported(api, token, user, json.dumps(document), dry_run="true")
    assert (replanned["created"], replanned["unchanged"], replanned["goals"]) == (0, 2, "unchanged")
    assert [item["log_id"] for item in replanned["items"]] == [item["log_id"] for item in done["items"]]


def test_a_file_with_bad_rows_writes_nothing_and_names_every_bad_row(api, tokens, new_user, database):
    user = new_user("import")
    token = tokens.user(user, ALL)
    text = (FIXTURES / "wger_weight_export_2024.csv").read_text()
    bad = text + "2024-03-03,9000\r\n2024-02-30,80\r\n2024-03-05,80\r\n"
    body = assert_error(post_import(api, token, user, bad, "text/csv"), 400, "validation_error")
    assert [(detail["line"], detail["field"]) for detail in body["details"]] == [(4, "weight_kg"), (5, "date")]
    assert sum(count_rows(database, user).values()) == 0
    # Positive control: the same file without its bad rows imports
    assert imported(api, token, user, text, "text/csv")["created"] == 2


@pytest.mark.parametrize(
    ("name", "fmt", "weights"),
    [
        ("openscale_export.csv", "openscale", [82.4, 82.1, 81.7]),
        ("wger_weight_export.csv", "wger", [82.4, 82.1, 81.7]),
        ("wger_weight_export_2024.csv", "wger", [90.0, 89.75]),
    ],
)
def test_another_tools_weight_export_imports_by_its_header_and_twice_is_a_no_op(
    api, tokens, new_user, name, fmt, weights
):
    user = new_user("import")
    token = tokens.user(user, ALL)
    text = (FIXTURES / name).read_text()
    result = imported(api, token, user, text, "text/csv")
    assert (result["format"], result["created"]) == (fmt, len(weights))
    assert [entry["weight_kg"] for entry in listed(api, token, user)] == weights
    assert imported(api, token, user, text, "text/csv")["unchanged"] == len(weights)


def test_this_services_csv_export_imports(api, tokens, new_user, source):
    owner, document = source
    csv_text = api.call("GET", f"/api/progress/export/{owner}", tokens.client(), params={"format": "csv"}).text
    user = new_user("import")
    token = tokens.user(user, ALL)
    result = imported(api, token, user, csv_text, "text/csv")
    assert (result["format"], result["created"]) == ("csv", 2)
    assert values(listed(api, token, user)) == values(document["logs"])


def test_an_import_needs_the_write_scope_ownership_and_a_known_user(api, tokens, new_user, user_profile, source):
    _, document = source
    user, other = new_user("import"), new_user("import")
    body = json.dumps(document)
    assert_error(post_import(api, tokens.user(other, ALL), user, body), 403, "forbidden")
    assert_error(post_import(api, tokens.user(user, "read:progress"), user, body), 403, "insufficient_scope")
    stranger = "never-registered-user"
    assert_error(post_import(api, tokens.client("write:progress"), stranger, body), 400, "unknown_user")
    assert imported(api, tokens.client("write:progress"), user, body)["created"] == 2  # positive control


def test_a_file_past_the_size_limit_is_413(api, tokens, new_user):
    user = new_user("import")
    text = "Date,Weight\r\n" + "2024-03-01,90.00\r\n" * 250_000  # 4.5 MB
    assert_error(post_import(api, tokens.user(user, ALL), user, text, "text/csv"), 413, "payload_too_large")


def post_log(api, token, user, **fields) -> None:
    response = api.call("POST", "/api/progress/log", token, json={"user_id": user, **fields})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_export_imported_back_into_its_own_account_leaves_its_live_logs_as_they_are(
    api, tokens, database, source, fmt
):
    owner, document = source
    token = tokens.user(owner, ALL)
    if fmt == "json":
        body, content_type = json.dumps(document), "application/json"
    else:
        body = api.call("GET", f"/api/progress/export/{owner}", token, params={"format": "csv"}).text
        content_type = "text/csv"
    rows = count_rows(database, owner)
    planned = imported(api, token, owner, body, content_type, dry_run="true")
    done = imported(api, token, owner, body, content_type)
    # Each live log of the file is the owner's own log: unchanged, named by its id, nothing copied or written
    for result in (planned, done):
        assert (result["created"], result["unchanged"]) == (0, 2)
        assert [item["log_id"] for item in result["items"]] == [entry["log_id"] for entry in document["logs"]]
    assert count_rows(database, owner) == rows
    # Positive control: once one of them is deleted, the import brings it back as a log of its own
    assert api.call("DELETE", f"/api/progress/log/{document['logs'][0]['log_id']}", token).status_code == 200
    again = imported(api, token, owner, body, content_type)
    assert (again["created"], again["unchanged"]) == (1, 1)
    assert values(listed(api, token, owner)) == values(document["logs"])


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_log_entered_in_pounds_comes_back_exactly_as_entered_with_its_source_and_device(api, tokens, new_user, fmt):
    owner = new_user("pounds-source")
    token = tokens.user(owner, ALL)
    pounds = {"weight_lb": 170.2, "source": "withings", "device": "Body+ scale"}
    post_log(api, token, owner, date="2026-01-01", **pounds)
    post_log(api, token, owner, date="2026-01-02", weight_kg=80.5, source="health-connect")  # the control: in kg
    page = api.call("GET", f"/api/progress/export/{owner}", token, params={"format": fmt})
    assert page.status_code == 200
    user = new_user("pounds-import")
    user_token = tokens.user(user, ALL)
    result = imported(api, user_token, user, page.text, "application/json" if fmt == "json" else "text/csv")
    assert result["created"] == 2
    # Then the pounds are answered as entered (170.2, not 170.19999999999996), the kg log as it was
    answered = api.call("GET", f"/api/progress/{user}", user_token, params={"units": "imperial"}).json()
    kept = [(e["weight_lb"], e["weight_unit"], e["source"], e["device"]) for e in answered["progress_logs"]]
    assert kept == [(170.2, "lb", "withings", "Body+ scale"), (177.47, "kg", "health-connect", None)]
    metric = listed(api, user_token, user)
    assert [(e["weight_kg"], e["weight_unit"]) for e in metric] == [(77.2, "lb"), (80.5, "kg")]
    # And a second import of the same file changes nothing: the records are keyed by the logs' own sources
    again = imported(api, user_token, user, page.text, "application/json" if fmt == "json" else "text/csv")
    assert (again["created"], again["unchanged"]) == (0, 2)


def test_a_json_export_carries_the_pounds_as_entered_and_the_source_in_its_logs_and_events(api, tokens, new_user):
    owner = new_user("pounds-export")
    token = tokens.user(owner, ALL)
    post_log(api, token, owner, date="2026-01-01", weight_lb=170.2, source="withings", device="Body+ scale")
    document = exported(api, token, owner)
    (entry,) = document["logs"]
    assert (entry["weight_kg"], entry["weight_lb"], entry["weight_unit"]) == (77.2, 170.2, "lb")
    assert (entry["source"], entry["device"]) == ("withings", "Body+ scale")
    (event,) = document["log_events"]
    assert {name: event["state"][name] for name in ("weight_lb", "weight_unit", "source", "device")} == {
        "weight_lb": 170.2,
        "weight_unit": "lb",
        "source": "withings",
        "device": "Body+ scale",
    }
