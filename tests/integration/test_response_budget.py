"""No response passes the byte budget (progress_tracking.response_size): every route of the template at its worst
case, through the local gateway over real HTTP, measured as Lambda counts it (the invoke response the python3.12
runtime writes: the proxy dict with the body as an escaped JSON string).

The worst case of a text is its bound in the costliest characters: `"` and `\\` cost four bytes each in the invoke
response (two in the body, each escaped again around it), as much as a four-byte UTF-8 character does.
"""

from __future__ import annotations

import json
import string
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import product
from urllib.parse import quote

import pytest
import requests

from localdev.gateway import invoke_response_bytes
from progress_tracking.response_size import FRAME_ALLOWANCE_BYTES, RESPONSE_BUDGET_BYTES
from progress_tracking.store import appending, goal_events
from progress_tracking.store.appending import Change
from progress_tracking.units import kilograms
from tests.helpers import ALL, API, FUNCTIONS

WORST_CHARACTERS = '"\\'
FIRST_DAY = date(2020, 1, 1)
ACTOR = "worst-case-client@clients"
# The headers the HTTP server adds: not part of what the function answered.
SERVER_HEADERS = {"Content-Length", "Date", "Server", "Connection"}


def worst_text(length: int) -> str:
    return (WORST_CHARACTERS * length)[:length]


def worst_log(day: int = 0) -> dict:
    """A log's fields at every bound, its texts in the costliest characters."""
    return {
        "date": FIRST_DAY + timedelta(days=day),
        "weight_kg": 649.9999999999999,
        "workout_done": worst_text(200),
        "calories_burned": 99999.99999999999,
        "notes": worst_text(2000),
        "source": "s" * 40,
        "device": worst_text(100),
    }


def worst_user() -> str:
    """A user id at its bound (128 characters), mostly the costliest characters, unique to the test."""
    return f"{worst_text(117)}-{uuid.uuid4().hex[:10]}"


def invoke_size(response: requests.Response) -> int:
    """The invoke response the function answered with, rebuilt from what the gateway passed on, measured as the
    runtime writes it."""
    headers = {name: value for name, value in response.headers.items() if name not in SERVER_HEADERS}
    body = response.content.decode()
    return invoke_response_bytes({"statusCode": response.status_code, "headers": headers, "body": body})


def within_budget(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text[:500]
    size = invoke_size(response)
    assert size <= RESPONSE_BUDGET_BYTES, f"{size} bytes"
    return response.json()


# The longest pounds within the bound (1433): an export writes them beside the kilograms (docs/export-format.md).
WORST_POUNDS = 1432.9999999999998


def in_pounds(log: dict) -> dict:
    """The log entered in pounds, as the store keeps one: the pounds as entered and their kilograms."""
    return {**log, "weight_lb": WORST_POUNDS, "weight_kg": kilograms(WORST_POUNDS)}


def seed_logs(database, user: str, count: int, pounds: bool = False) -> list[int]:
    """`count` logs at every bound, a day apart, through the store in one transaction (`pounds`: entered in lb)."""
    change = Change(actor=ACTOR, request_id=str(uuid.uuid4()))

    def work(cursor) -> list[int]:
        logs = (in_pounds(worst_log(n)) if pounds else worst_log(n) for n in range(count))
        return [appending.log_new(cursor, user, fields, change).log_id for fields in logs]

    return database.run(work)


def seed_updates(database, log_id: int, count: int) -> None:
    """`count` updates of a log, each writing a note at its bound."""

    def work(cursor) -> None:
        for n in range(count):
            change = Change(actor=ACTOR, request_id=str(uuid.uuid4()))
            notes = worst_text(2000 - len(str(n))) + str(n)
            appending.update(cursor, appending.lock_log(cursor, log_id), {"notes": notes}, change)

    database.run(work)


def pages(api, token: str, path: str, items: str, **params) -> Iterator[tuple[int, dict]]:
    """Every page of a paged answer, each with its size, following next_cursor to the end."""
    cursor = None
    while True:
        response = api.call("GET", path, token, params={**params, **({"cursor": cursor} if cursor else {})})
        body = within_budget(response)
        assert body[items], "a page always holds at least one item"
        yield invoke_size(response), body
        cursor = body["next_cursor"]
        if cursor is None:
            return


@pytest.fixture(scope="module")
def heavy_user(database) -> tuple[str, list[int]]:
    """A user with 1,000 logs at every bound: 9.6 MB as one list (as Lambda counts it)."""
    user = worst_user()
    return user, seed_logs(database, user, 1000)


@pytest.fixture(scope="module")
def heavy_user_in_pounds(database) -> tuple[str, list[int]]:
    """The same, every log entered in pounds: an export's costliest logs (weight_lb written beside weight_kg, and
    both in each event's state)."""
    user = worst_user()
    return user, seed_logs(database, user, 1000, pounds=True)


# --- lists and histories: pages end by bytes as well as by count ----------------------------------------------------


@pytest.mark.parametrize("as_of", [False, True])
def test_a_list_of_logs_at_every_bound_ends_its_pages_by_bytes_and_pages_through_all(api, tokens, heavy_user, as_of):
    user, ids = heavy_user
    params = {"limit": 1000, **({"as_of": datetime.now(UTC).isoformat()} if as_of else {})}
    seen, sizes = [], []
    for size, body in pages(api, tokens.client(), f"/api/progress/{quote(user, safe='')}", "progress_logs", **params):
        seen += [entry["log_id"] for entry in body["progress_logs"]]
        sizes.append(size)
    assert seen == ids  # every log once, in order
    assert len(sizes) == 3
    # A page ends only when the next log would not fit: close to the budget, not far below it.
    assert all(size > RESPONSE_BUDGET_BYTES - FRAME_ALLOWANCE_BYTES - 10_000 for size in sizes[:-1])


def test_a_change_feed_of_1000_logs_at_every_bound_ends_its_pages_by_bytes_and_follows_through_all(
    api, tokens, heavy_user
):
    user, ids = heavy_user
    path = f"/api/progress/changes/{quote(user, safe='')}"
    seen, sizes, since = [], [], None
    while True:
        response = api.call("GET", path, tokens.client(), params={"limit": 1000, **({"since": since} if since else {})})
        body = within_budget(response)
        assert body["changes"], "a page always holds at least one change"
        seen += [change["log"]["log_id"] for change in body["changes"]]
        sizes.append(invoke_size(response))
        since = body["next_token"]
        if not body["more"]:
            break
    assert seen == ids  # every log's creation once, in order
    assert len(sizes) == 3
    assert all(size > RESPONSE_BUDGET_BYTES - FRAME_ALLOWANCE_BYTES - 10_000 for size in sizes[:-1])


def test_a_log_history_of_800_updates_at_every_bound_ends_its_pages_by_bytes(api, tokens, database):
    user = worst_user()
    (log_id,) = seed_logs(database, user, 1)
    seed_updates(database, log_id, 800)
    versions, sizes = [], []
    for size, body in pages(api, tokens.client(), f"/api/progress/log/{log_id}/history", "events", limit=1000):
        assert body["log_id"] == log_id and body["user_id"] == user
        versions += [event["version"] for event in body["events"]]
        sizes.append(size)
    assert versions == list(range(1, 802))
    assert len(sizes) == 2
    assert sizes[0] > RESPONSE_BUDGET_BYTES - FRAME_ALLOWANCE_BYTES - 10_000


def test_a_goals_history_is_paged_by_count_like_the_list(api, tokens, database):
    user = worst_user()

    def work(cursor) -> None:
        for n in range(1001):
            goals = {
                "target_weight_kg": 649.9999999999999 - n / 10,
                "weekly_workouts": 100,
                "weekly_calories_burned": 700000,
            }
            goal_events.write(cursor, user, goals, ACTOR, str(uuid.uuid4()))

    database.run(work)
    path = f"/api/progress/goals/{quote(user, safe='')}/history"
    token = tokens.client()
    first = within_budget(api.call("GET", path, token))
    assert [event["version"] for event in first["events"]] == list(range(1, 101))  # 100 by default, as the list
    versions = []
    for _, body in pages(api, token, path, "events", limit=1000):
        assert body["user_id"] == user
        versions.append([event["version"] for event in body["events"]])
    assert versions == [list(range(1, 1001)), [1001]]


# --- the other routes at their worst ------------------------------------------------------------------------------


def test_a_summary_names_the_100_most_logged_of_150_workouts_at_their_bound(api, tokens, database):
    user = worst_user()
    change = Change(actor=ACTOR, request_id=None)

    def work(cursor) -> None:
        for n in [*range(150), *[149] * 5]:  # kind 149 logged six times: the most logged, though last by name
            appending.log_new(cursor, user, {**worst_log(n), "workout_done": f"{worst_text(194)}{n:06d}"}, change)

    database.run(work)
    kind = f"{worst_text(194)}{{:06d}}".format
    path = f"/api/progress/summary/{quote(user, safe='')}"
    for params in [{}, {"from": FIRST_DAY.isoformat(), "to": (FIRST_DAY + timedelta(days=200)).isoformat()}]:
        body = within_budget(api.call("GET", path, tokens.client(), params=params))
        assert body["workouts"] == {kind(149): 6, **{kind(n): 1 for n in range(99)}}
        assert (body["workout_kinds"], body["other_workouts"]) == (150, 50)


@pytest.mark.parametrize("as_of", [False, True])
def test_a_series_of_400_buckets_stays_within_the_budget(api, tokens, heavy_user, as_of):
    user, _ = heavy_user
    params = {"bucket": "day", "from": FIRST_DAY.isoformat(), "to": (FIRST_DAY + timedelta(days=399)).isoformat()}
    if as_of:
        params["as_of"] = datetime.now(UTC).isoformat()
    body = within_budget(
        api.call("GET", f"/api/progress/series/{quote(user, safe='')}", tokens.client(), params=params)
    )
    assert len(body["series"]) == 400 and all(entry["logs"] == 1 for entry in body["series"])


def test_the_routes_that_answer_one_log_or_the_goals_stay_within_the_budget_at_their_worst(api, tokens, user_profile):
    user = worst_user()
    user_profile.known.add(user)
    token = tokens.client(scope=f"{ALL} admin:progress")
    in_path = quote(user, safe="")
    fields = {**worst_log(), "date": date.today().isoformat()}
    key = {"Idempotency-Key": worst_text(255).replace('"', "!")}
    created = within_budget(
        api.call("POST", "/api/progress/log", token, json={"user_id": user, **fields}, headers=key), 201
    )
    replayed = api.call("POST", "/api/progress/log", token, json={"user_id": user, **fields}, headers=key)
    assert within_budget(replayed, 201) == created and replayed.headers["Idempotent-Replayed"] == "true"
    log_path = f"/api/progress/log/{created['id']}"
    within_budget(api.call("PUT", log_path, token, json={"notes": worst_text(2000)[::-1]}))
    within_budget(api.call("POST", f"{log_path}/rollback", token, json={"to_version": 1}))
    within_budget(api.call("DELETE", log_path, token))
    api.call("POST", "/api/progress/log", token, json={"user_id": user, **fields})
    assert within_budget(api.call("DELETE", f"/api/progress/user/{in_path}/logs", token))["deleted_log_count"] == 1
    goals = {
        "target_weight_kg": 649.9999999999999,
        "target_date": (date.today() + timedelta(days=3650)).isoformat(),
        "weekly_workouts": 100,
        "weekly_calories_burned": 699999.9999999999,
    }
    within_budget(api.call("PUT", f"/api/progress/goals/{in_path}", token, json=goals))
    within_budget(api.call("PATCH", f"/api/progress/goals/{in_path}", token, json={"weekly_workouts": 99}))
    within_budget(api.call("GET", f"/api/progress/goals/{in_path}", token))
    within_budget(api.call("DELETE", f"/api/progress/goals/{in_path}", token))
    within_budget(api.call("DELETE", f"/api/progress/user/{in_path}/logs", token, params={"erase": "true"}))


def test_errors_with_the_most_details_a_body_can_cause_stay_within_the_budget(api, tokens, new_user):
    # The largest body the API reads (64 KiB) made of the shortest distinct unknown fields: each is named twice in
    # the answer (the message and a detail), ~12 times what it took in the body.
    names = (a + b for a, b in product(string.ascii_letters + string.digits, repeat=2))
    names = iter([*names, *(a + b + c for a, b, c in product(string.ascii_letters, repeat=3))])
    fields: list[str] = []
    while len("{" + ",".join(fields) + "}") + len('"abc":0,') <= 64 * 1024:
        fields.append(f'"{next(names)}":0')
    body = ("{" + ",".join(fields) + "}").encode()
    token = tokens.client()
    for method, path in [("POST", "/api/progress/log"), ("PUT", "/api/progress/log/1")]:
        response = api.call(method, path, token, data=body, headers={"Content-Type": "application/json"})
        details = within_budget(response, 400)["details"]
        assert len(details) >= len(fields) and invoke_size(response) > 10 * len(body)
    too_large = api.call(
        "POST", "/api/progress/log", token, data=body + b" " * 64, headers={"Content-Type": "application/json"}
    )
    assert within_budget(too_large, 413)["code"] == "payload_too_large"


def test_a_batch_answer_and_its_worst_400_stay_within_the_budget(api, tokens, user_profile):
    user = worst_user()
    user_profile.known.add(user)
    token = tokens.client()
    # 500 logs, each with its client record id at its bound: the answer is one small result per log.
    logs = [
        {"date": date.today().isoformat(), "weight_kg": 649.9999999999999,
         "client_record_id": f"{worst_text(96)}{n:04d}", "client_version": 2**63 - 1, "source": "a" * 40}
        for n in range(500)
    ]  # fmt: skip
    answered = within_budget(api.call("POST", "/api/progress/logs/batch", token, json={"user_id": user, "logs": logs}))
    assert len(answered["results"]) == 500
    # The largest batch body (1 MiB) of items full of the shortest unknown fields, and one item with a single
    # unknown field as long as the body allows, in the costliest characters: problems are named per item (at most
    # ten each, and a count of the rest) and long names are cut, so the 400 stays far below the budget.
    names = [a + b for a, b in product(string.ascii_letters + string.digits, repeat=2)]
    item = "{" + ",".join(f'"{name}":0' for name in names[:600]) + "}"
    items = (1024 * 1024 - 64) // (len(item) + 1)
    many = f'{{"user_id":"u","logs":[{",".join([item] * items)}]}}'.encode()
    assert 1000 * 1024 < len(many) <= 1024 * 1024
    headers = {"Content-Type": "application/json"}
    details = within_budget(api.call("POST", "/api/progress/logs/batch", token, data=many, headers=headers), 400)
    assert len(details["details"]) == items * 11
    long_name = json.dumps(worst_text(500_000))
    one = f'{{"user_id":"u","logs":[{{{long_name}:0}}]}}'.encode()
    response = api.call("POST", "/api/progress/logs/batch", token, data=one, headers=headers)
    assert invoke_size(response) < 10 * 1024
    within_budget(response, 400)


@pytest.mark.parametrize("asset", [None, "swagger-ui.css", "swagger-ui-bundle.js", "openapi.json"])
def test_the_docs_pages_stay_within_the_budget(asset):
    # The docs function itself (the local gateway serves /docs/openapi.json from the code, not from the function).
    event = {
        "pathParameters": {"asset": asset} if asset else None,
        "requestContext": {"path": "/prod/docs/openapi.json"},
    }
    response = FUNCTIONS["api_docs"].load()(event, None)
    assert response["statusCode"] == 200
    assert invoke_response_bytes(response) <= RESPONSE_BUDGET_BYTES


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_export_of_1000_logs_at_every_bound_ends_its_pages_by_bytes(api, tokens, heavy_user_in_pounds, fmt):
    # 1,000 logs and their 1,000 events at every bound, in pounds: 19 MB as one JSON document.
    user, ids = heavy_user_in_pounds
    path, token = f"/api/progress/export/{quote(user, safe='')}", tokens.client()
    seen, sizes, cursor = [], [], None
    while True:
        params = {"format": fmt, "limit": 20_000, **({"cursor": cursor} if cursor else {})}
        response = api.call("GET", path, token, params=params)
        assert response.status_code == 200, response.text[:300]
        size = invoke_size(response)
        assert size <= RESPONSE_BUDGET_BYTES, f"{size} bytes"
        sizes.append(size)
        if fmt == "json":
            body = response.json()
            seen += [entry["log_id"] for entry in body["logs"]]
            cursor = body["next_cursor"]
        else:
            seen += [int(line.split(",", 1)[0]) for line in response.text.split("\r\n")[1:] if line[:1].isdigit()]
            cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert seen == ids
    assert len(sizes) >= (5 if fmt == "json" else 2)
    assert all(size > RESPONSE_BUDGET_BYTES - FRAME_ALLOWANCE_BYTES - 20_000 for size in sizes[:-1])


def test_an_import_of_the_most_logs_and_a_refusal_of_the_most_bad_rows_stay_within_the_budget(api, tokens, new_user):
    from progress_tracking.import_files import MAX_IMPORT_LOGS, MAX_LISTED_PROBLEMS

    user = new_user("import-budget")
    path, token = f"/api/progress/import/{user}", tokens.user(user, ALL)
    header = "log_id,date,weight_kg,workout_done,calories_burned,notes,version,created_at,updated_at\r\n"
    largest = 2**63 - 1 - MAX_IMPORT_LOGS  # the longest log ids a file can name
    rows = "".join(f"{largest + n},2020-01-01,80,,,,{2**31 - 1},,\r\n" for n in range(MAX_IMPORT_LOGS))
    planned = within_budget(
        api.call(
            "POST", path, token, data=header + rows, headers={"Content-Type": "text/csv"}, params={"dry_run": "true"}
        )
    )
    assert planned["created"] == MAX_IMPORT_LOGS
    # Every row bad in its costliest way: a date of 40 quotes, named back in the message
    bad = "".join(f'{largest + n},"{worst_text(40)}",80,,,,1,,\r\n' for n in range(MAX_LISTED_PROBLEMS + 5))
    response = api.call("POST", path, token, data=header + bad, headers={"Content-Type": "text/csv"})
    assert len(within_budget(response, 400)["details"]) == MAX_LISTED_PROBLEMS


# Where each route's worst case is tested: a route added to the template needs one.
WORST_CASES = {
    (
        "GET",
        "/api/progress/{user_id}",
    ): test_a_list_of_logs_at_every_bound_ends_its_pages_by_bytes_and_pages_through_all,
    (
        "GET",
        "/api/progress/log/{log_id}/history",
    ): test_a_log_history_of_800_updates_at_every_bound_ends_its_pages_by_bytes,
    ("GET", "/api/progress/goals/{user_id}/history"): test_a_goals_history_is_paged_by_count_like_the_list,
    ("GET", "/api/progress/summary/{user_id}"): test_a_summary_names_the_100_most_logged_of_150_workouts_at_their_bound,
    ("GET", "/api/progress/series/{user_id}"): test_a_series_of_400_buckets_stays_within_the_budget,
    ("POST", "/api/progress/logs/batch"): test_a_batch_answer_and_its_worst_400_stay_within_the_budget,
    (
        "GET",
        "/api/progress/changes/{user_id}",
    ): test_a_change_feed_of_1000_logs_at_every_bound_ends_its_pages_by_bytes_and_follows_through_all,
    (
        "GET",
        "/api/progress/export/{user_id}",
    ): test_an_export_of_1000_logs_at_every_bound_ends_its_pages_by_bytes,
    (
        "POST",
        "/api/progress/import/{user_id}",
    ): test_an_import_of_the_most_logs_and_a_refusal_of_the_most_bad_rows_stay_within_the_budget,
    **dict.fromkeys(
        [
            ("POST", "/api/progress/log"),
            ("PUT", "/api/progress/log/{log_id}"),
            ("DELETE", "/api/progress/log/{log_id}"),
            ("POST", "/api/progress/log/{log_id}/rollback"),
            ("DELETE", "/api/progress/user/{user_id}/logs"),
            ("PUT", "/api/progress/goals/{user_id}"),
            ("PATCH", "/api/progress/goals/{user_id}"),
            ("GET", "/api/progress/goals/{user_id}"),
            ("DELETE", "/api/progress/goals/{user_id}"),
        ],
        test_the_routes_that_answer_one_log_or_the_goals_stay_within_the_budget_at_their_worst,
    ),
    ("GET", "/docs"): test_the_docs_pages_stay_within_the_budget,
    ("GET", "/docs/{asset}"): test_the_docs_pages_stay_within_the_budget,
}


def test_every_route_of_the_template_has_its_worst_case_tested():
    routes = {(route.method, route.path) for route in [*API.routes, *API.public_routes]}
    assert set(WORST_CASES) == routes
