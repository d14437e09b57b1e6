"""The export (GET /api/progress/export/{user_id}) through the local gateway over real HTTP, on a real Postgres: every
live log, every event of every log, the goals and their events and the summary, as of one moment, paged by count and by
bytes, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from progress_tracking.models.export import CSV_COLUMNS, FORMAT_VERSION
from tests.helpers import ALL, assert_error, log


def export_path(user: str) -> str:
    return f"/api/progress/export/{quote(user, safe='')}"


def export(api, token, user, **params):
    response = api.call("GET", export_path(user), token, params=params)
    assert response.status_code == 200, response.text[:500]
    return response


def every_page(api, token, user, **params) -> list[dict]:
    """Every page of a JSON export, following next_cursor to the end."""
    pages = [export(api, token, user, **params).json()]
    while pages[-1]["next_cursor"]:
        pages.append(export(api, token, user, cursor=pages[-1]["next_cursor"]).json())
    return pages


def joined(pages: list[dict]) -> dict:
    """An export's pages as one document: the head of page one, the items of all."""
    return {
        **pages[0],
        **{items: [item for page in pages for item in page[items]] for items in ("logs", "log_events", "goal_events")},
    }


def a_history(api, tokens, new_user) -> tuple[str, str, list[dict]]:
    """A user with three logs (one changed, one deleted) and goals set then changed."""
    user = new_user("export")
    token = tokens.user(user, ALL)
    logs = [log(api, token, user, date=f"2026-01-0{day}", notes=f"day {day}") for day in (3, 1, 2)]
    assert api.call("PUT", f"/api/progress/log/{logs[0]['log_id']}", token, json={"weight_kg": 81}).status_code == 200
    assert api.call("DELETE", f"/api/progress/log/{logs[1]['log_id']}", token).status_code == 200
    goals = f"/api/progress/goals/{user}"
    assert api.call("PUT", goals, token, json={"target_weight_kg": 75}).status_code == 200
    assert api.call("PUT", goals, token, json={"target_weight_kg": 74, "weekly_workouts": 3}).status_code == 200
    return user, token, logs


def test_an_export_holds_every_live_log_every_event_of_every_log_the_goals_and_the_summary(api, tokens, new_user):
    user, token, logs = a_history(api, tokens, new_user)
    (page,) = every_page(api, token, user)
    assert page["format_version"] == FORMAT_VERSION and page["user_id"] == user and page["page"] == 1
    # The live logs in the list's order (date, then id): the deleted one is not among them.
    assert [entry["log_id"] for entry in page["logs"]] == [logs[2]["log_id"], logs[0]["log_id"]]
    assert page["logs"][1]["weight_kg"] == 81 and page["logs"][1]["version"] == 2
    # Every event of every log, the deleted log's included, in stream order.
    events = [(event["log_id"], event["type"], event["version"]) for event in page["log_events"]]
    assert sorted(events) == sorted(
        [(entry["log_id"], "logged", 1) for entry in logs]
        + [(logs[0]["log_id"], "updated", 2), (logs[1]["log_id"], "deleted", 2)]
    )
    positions = [event["position"] for event in page["log_events"] + page["goal_events"]]
    assert positions == sorted(positions) and len(set(positions)) == 7
    assert [(event["type"], event["state"]["target_weight_kg"]) for event in page["goal_events"]] == [
        ("set", 75),
        ("changed", 74),
    ]
    assert page["goals"]["target_weight_kg"] == 74 and page["goals"]["weekly_workouts"] == 3
    assert page["goals"]["version"] == 2
    # The summary as its own route answers it.
    summary = api.call("GET", f"/api/progress/summary/{user}", token).json()
    assert page["summary"] == summary and summary["log_count"] == 2
    assert page["next_cursor"] is None


def test_an_export_as_of_a_moment_shows_the_data_as_it_stood_then(api, tokens, new_user):
    user = new_user("export")
    token = tokens.user(user, ALL)
    first = log(api, token, user, date="2026-02-01", weight_kg=90)
    moment = first["updated_at"]
    # Given every change after the moment: an update, a new log, a deletion and goals
    assert api.call("PUT", f"/api/progress/log/{first['log_id']}", token, json={"weight_kg": 80}).status_code == 200
    second = log(api, token, user, date="2026-02-02")
    assert api.call("DELETE", f"/api/progress/log/{second['log_id']}", token).status_code == 200
    assert api.call("PUT", f"/api/progress/goals/{user}", token, json={"weekly_workouts": 2}).status_code == 200
    # When exported as of the moment
    (then,) = every_page(api, token, user, as_of=moment)
    # Then only what was there: the first log at version 1, its one event, no goals, and no summary (not kept)
    assert [(entry["log_id"], entry["weight_kg"], entry["version"]) for entry in then["logs"]] == [
        (first["log_id"], 90, 1)
    ]
    assert [(event["log_id"], event["type"]) for event in then["log_events"]] == [(first["log_id"], "logged")]
    assert then["goal_events"] == [] and then["goals"] is None and then["summary"] is None
    assert datetime.fromisoformat(then["as_of"]) == datetime.fromisoformat(moment)
    # Positive control: now, everything
    (now,) = every_page(api, token, user)
    assert len(now["log_events"]) == 4 and now["goals"]["weekly_workouts"] == 2 and now["summary"]["log_count"] == 1


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_the_pages_of_an_export_hold_it_all_once_and_show_the_moment_of_page_one(api, tokens, new_user, limit):
    user, token, _ = a_history(api, tokens, new_user)
    (whole,) = every_page(api, token, user)
    first = export(api, token, user, limit=limit).json()
    # Given a change after page one was read
    log(api, token, user, date="2026-01-09")
    pages = [first]
    while pages[-1]["next_cursor"]:
        pages.append(export(api, token, user, limit=limit, cursor=pages[-1]["next_cursor"]).json())
    # Then the pages hold the export of page one's moment, each item once, none past `limit` items
    assert [page["page"] for page in pages] == list(range(1, len(pages) + 1))
    assert all(page["as_of"] == first["as_of"] for page in pages)
    counts = [len(page["logs"]) + len(page["log_events"]) + len(page["goal_events"]) for page in pages]
    assert all(count <= limit for count in counts), counts
    together = joined(pages)
    for items in ("logs", "log_events", "goal_events"):
        assert together[items] == whole[items]
    assert together["goals"] == whole["goals"]
    assert all(page["goals"] is None and page["summary"] is None for page in pages[1:])


def test_a_csv_export_is_the_logs_with_a_header_naming_the_units_and_iso_dates(api, tokens, new_user):
    user = new_user("export")
    token = tokens.user(user, ALL)
    tricky = 'a "quoted", comma\nand a line break'
    made = [log(api, token, user, date="2026-03-02", notes=tricky), log(api, token, user, date="2026-03-01")]
    response = export(api, token, user, format="csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "X-Next-Cursor" not in response.headers
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS and "weight_kg" in rows[0]
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [row["log_id"] for row in body] == [str(made[1]["log_id"]), str(made[0]["log_id"])]
    assert body[1]["date"] == "2026-03-02" and body[1]["notes"] == tricky and body[1]["weight_kg"] == "82.4"
    assert body[0]["notes"] == ""  # null is an empty field
    assert datetime.fromisoformat(body[0]["created_at"]).tzinfo is not None


def test_a_csv_export_pages_with_its_cursor_in_a_header(api, tokens, new_user):
    user = new_user("export")
    token = tokens.user(user, ALL)
    made = [log(api, token, user, date=f"2026-04-0{day}")["log_id"] for day in range(1, 6)]
    seen, cursor = [], None
    while True:
        response = export(api, token, user, format="csv", limit=2, **({"cursor": cursor} if cursor else {}))
        rows = list(csv.reader(io.StringIO(response.text)))
        assert tuple(rows[0]) == CSV_COLUMNS  # every page stands alone
        seen += [int(row[0]) for row in rows[1:]]
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert seen == made


def test_an_export_needs_the_read_scope_and_ownership(api, tokens, new_user):
    user, other = new_user("export"), new_user("export")
    assert export(api, tokens.user(user, "read:progress"), user).json()["user_id"] == user  # positive control
    assert export(api, tokens.client("read:progress"), user).status_code == 200  # a machine may act for anyone
    assert_error(api.call("GET", export_path(user), tokens.user(other, ALL)), 403, "forbidden")
    assert_error(api.call("GET", export_path(user), tokens.user(user, "write:progress")), 403, "insufficient_scope")


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "WyIyMDI2LTExLTAxIiwxXQ"},  # a list's cursor
        {"cursor": "not-a-cursor"},
    ],
)
def test_a_cursor_that_is_not_an_exports_is_refused(api, tokens, new_user, params):
    user = new_user("export")
    assert_error(api.call("GET", export_path(user), tokens.user(user, ALL), params=params), 400, "invalid_cursor")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"format": "xml"}, "format"), ({"as_of": "2026-01-01"}, "as_of"), ({"limit": "0"}, "limit"), ({"x": "1"}, "x")],
)
def test_a_bad_query_is_refused_naming_the_field(api, tokens, new_user, params, field):
    user = new_user("export")
    response = api.call("GET", export_path(user), tokens.user(user, ALL), params=params)
    body = assert_error(response, 400, "validation_error")
    assert [detail["field"] for detail in body["details"]] == [field]


def test_export_and_import_are_words_of_the_paths_not_user_ids(api, tokens):
    for word in ("export", "import"):
        response = api.call("GET", f"/api/progress/{word}", tokens.client())
        assert response.status_code in (400, 404), response.text


def test_a_user_with_no_data_exports_an_empty_page(api, tokens, new_user):
    user = new_user("export")
    (page,) = every_page(api, tokens.user(user, ALL), user)
    assert (page["logs"], page["log_events"], page["goal_events"], page["goals"]) == ([], [], [], None)
    assert page["summary"]["log_count"] == 0
    assert datetime.fromisoformat(page["as_of"]) <= datetime.now(UTC)


def test_a_user_with_no_logs_exports_a_csv_of_its_header_alone(api, tokens, new_user):
    user = new_user("export")
    response = export(api, tokens.user(user, ALL), user, format="csv")
    assert response.text == ",".join(CSV_COLUMNS) + "\r\n" and "X-Next-Cursor" not in response.headers


def test_a_page_of_one_item_holds_one_log_the_head_aside(api, tokens, new_user):
    user = new_user("export")
    token = tokens.user(user, ALL)
    made = [log(api, token, user, date=f"2026-05-0{day}")["log_id"] for day in (1, 2)]
    first = export(api, token, user, limit=1).json()
    assert [entry["log_id"] for entry in first["logs"]] == made[:1] and first["summary"]["log_count"] == 2
    csv_page = export(api, token, user, format="csv", limit=1)
    assert [int(row[0]) for row in list(csv.reader(io.StringIO(csv_page.text)))[1:]] == made[:1]
