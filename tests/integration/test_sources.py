"""Where a log came from (issue 24, item 2): its source and device, answered, kept in the events, filtered on the list
with a cursor bound to the filter; through the local gateway over real HTTP and a real Postgres."""

from __future__ import annotations

import pytest

from progress_tracking.store import rebuild
from tests.helpers import assert_error, log


def test_a_log_without_a_source_is_manual_and_one_with_a_source_and_device_answers_them(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    manual = log(api, token, user)
    assert (manual["source"], manual["device"]) == ("manual", None)
    synced = log(api, token, user, source="health-connect", device="Pixel Watch 2")
    assert (synced["source"], synced["device"]) == ("health-connect", "Pixel Watch 2")
    listed = api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
    assert [(entry["source"], entry["device"]) for entry in listed] == [
        ("manual", None),
        ("health-connect", "Pixel Watch 2"),
    ]
    history = api.call("GET", f"/api/progress/log/{synced['log_id']}/history", token).json()
    assert history["events"][0]["state"].items() >= {"source": "health-connect", "device": "Pixel Watch 2"}.items()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", "Health-Connect"),  # upper case
        ("source", "apple health"),  # a space
        ("source", "-withings"),  # starts with '-'
        ("source", ""),
        ("source", "a" * 41),
        ("source", None),
        ("device", ""),
        ("device", "   "),
        ("device", "d" * 101),
        ("device", "scale\n2"),
    ],
)
def test_a_source_or_device_outside_its_rules_is_a_400_naming_the_field(api, tokens, new_user, field, value):
    user = new_user()
    token = tokens.user(user)
    body = {"user_id": user, "date": "2026-01-05", "weight_kg": 80, field: value}
    error = assert_error(api.call("POST", "/api/progress/log", token, json=body), 400, "validation_error")
    assert error["details"][0]["field"] == field


def test_the_longest_source_and_device_are_accepted(api, tokens, new_user):
    # Positive control for the bounds above.
    user = new_user()
    logged = log(api, tokens.user(user), user, source="a1-" + "b" * 37, device="Ü" * 100)
    assert (len(logged["source"]), len(logged["device"])) == (40, 100)


def test_source_and_device_stay_as_post_set_them(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user, source="withings", device="Body+")
    path = f"/api/progress/log/{created['log_id']}"
    assert_error(api.call("PUT", path, token, json={"source": "manual"}), 400, "validation_error")
    updated = api.call("PUT", path, token, json={"notes": "after breakfast"}).json()["updated_log"]
    assert (updated["source"], updated["device"]) == ("withings", "Body+")
    assert api.call("DELETE", path, token).status_code == 200
    restored = api.call("POST", f"{path}/rollback", token, json={"to_version": 2}).json()["log"]
    assert (restored["source"], restored["device"], restored["notes"]) == ("withings", "Body+", "after breakfast")


def test_the_list_filters_by_source_and_pages_through_it_with_a_cursor_bound_to_the_filter(api, tokens, new_user):
    # Given a user whose logs alternate between two sources
    user = new_user()
    token = tokens.user(user)
    sources = ["manual", "withings"] * 5
    created = [log(api, token, user, date=f"2026-01-{day:02d}", source=source) for day, source in enumerate(sources, 1)]
    withings = [entry["log_id"] for entry in created if entry["source"] == "withings"]

    # When the client pages through the withings logs two at a time
    seen, cursor, cursors = [], None, []
    while True:
        params = {"source": "withings", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", f"/api/progress/{user}", token, params=params).json()
        seen += [entry["log_id"] for entry in page["progress_logs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)

    # Then it sees every one of them, and no other
    assert seen == withings
    # A cursor answers only the filter it was issued for: another source, or none, would skip or repeat logs.
    for other in ({"source": "manual"}, {}):
        wrong = api.call("GET", f"/api/progress/{user}", token, params={**other, "cursor": cursors[0]})
        assert_error(wrong, 400, "invalid_cursor")
    unfiltered = api.call("GET", f"/api/progress/{user}", token, params={"limit": "2"}).json()["next_cursor"]
    refused = api.call("GET", f"/api/progress/{user}", token, params={"source": "withings", "cursor": unfiltered})
    assert_error(refused, 400, "invalid_cursor")
    # Positive control: each cursor with its own filter.
    again = api.call("GET", f"/api/progress/{user}", token, params={"source": "withings", "cursor": cursors[0]})
    assert [entry["log_id"] for entry in again.json()["progress_logs"]] == withings[2:]
    assert (
        api.call("GET", f"/api/progress/{user}", token, params={"limit": "2", "cursor": unfiltered}).status_code == 200
    )


def test_the_list_as_it_stood_filters_by_source_too(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    kept = log(api, token, user, source="apple-health")
    log(api, token, user)
    moment = api.call("GET", f"/api/progress/log/{kept['log_id']}/history", token).json()["events"][0]["occurred_at"]
    params = {"source": "apple-health", "as_of": moment}
    listed = api.call("GET", f"/api/progress/{user}", token, params=params).json()["progress_logs"]
    assert [entry["log_id"] for entry in listed] == [kept["log_id"]]


def test_a_source_filter_outside_the_rules_is_a_400(api, tokens, new_user):
    user = new_user()
    error = assert_error(
        api.call("GET", f"/api/progress/{user}", tokens.user(user), params={"source": "Withings"}),
        400,
        "validation_error",
    )
    assert error["details"][0]["field"] == "source"


def test_the_projections_rebuilt_from_events_keep_units_sources_and_devices(api, tokens, new_user, database):
    # Given logs with every new field, changed, deleted all at once and brought back
    user = new_user()
    token = tokens.user(user)
    body = {"user_id": user, "date": "2026-01-05", "weight_lb": 170.2, "source": "withings", "device": "Body+"}
    created = api.call("POST", "/api/progress/log", token, json=body).json()["log"]
    log(api, token, user, source="health-connect")
    path = f"/api/progress/log/{created['log_id']}"
    api.call("PUT", path, token, json={"notes": "n"})
    assert api.call("DELETE", f"/api/progress/user/{user}/logs", token).status_code == 200
    api.call("POST", f"{path}/rollback", token, json={"to_version": 2})
    # Then the events alone give the projections the writes made
    assert database.run(rebuild.compare_projection).consistent
    deleted_all = api.call("GET", f"{path}/history", token).json()["events"][2]
    assert deleted_all["type"] == "deleted"
    assert deleted_all["state"].items() >= {"source": "withings", "device": "Body+", "weight_unit": "lb"}.items()
    listed = api.call("GET", f"/api/progress/{user}", token, params={"units": "imperial"}).json()["progress_logs"]
    assert (listed[0]["weight_lb"], listed[0]["source"], listed[0]["device"]) == (170.2, "withings", "Body+")
