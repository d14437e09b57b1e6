"""The round trip, as a property: any user's history, exported, erased and imported, exports again equal in every log's
date and values, in the goals and in the summary (identity fields aside: docs/export-format.md); and a second import of
the same export changes nothing. Histories are written through the store; export, erasure and import go through the
local gateway over real HTTP, on a real Postgres."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progress_tracking.models.fields import MAX_BODY_WEIGHT_LB, MIN_BODY_WEIGHT_LB
from progress_tracking.store import appending, goal_events
from progress_tracking.store.appending import Change
from progress_tracking.units import kilograms
from tests.helpers import MACHINE, count_rows

TODAY = datetime.now(UTC).date()
VALUES = (
    "date",
    "weight_kg",
    "workout_done",
    "calories_burned",
    "notes",
    "weight_lb",
    "weight_unit",
    "source",
    "device",
)
IDENTITY = ("log_id", "user_id", "version", "created_at", "updated_at")

days = st.dates(min_value=date(2019, 1, 1), max_value=TODAY)
one_line = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    str.strip
)
# What a POST accepts: no control characters (notes may hold tabs and line breaks).
notes = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), include_characters="\t\n\r"), max_size=60)
weights = st.floats(min_value=2, max_value=650, allow_nan=False)
# Pounds as a scale shows them (170.2) and as any float within the bounds: either comes back exactly as entered.
pounds = st.one_of(
    st.decimals(min_value=5, max_value=1400, places=1).map(float),
    st.floats(min_value=MIN_BODY_WEIGHT_LB, max_value=MAX_BODY_WEIGHT_LB, allow_nan=False),
)
calories = st.floats(min_value=0, max_value=100_000, allow_nan=False).map(lambda value: value + 0.0)
sources = st.sampled_from(["manual", "health-connect", "withings", "apple-health"])
changes = st.fixed_dictionaries(
    {"date": days},
    optional={
        "weight": st.one_of(weights.map(lambda kg: ("weight_kg", kg)), pounds.map(lambda lb: ("weight_lb", lb))),
        "workout_done": one_line,
        "calories_burned": calories,
        "notes": notes,
    },
).filter(lambda log: any(name in log for name in ("weight", "workout_done", "calories_burned")))
# A new log has a source and maybe a device; a change keeps them (a PUT refuses them).
fields = st.tuples(changes, st.fixed_dictionaries({"source": sources}, optional={"device": one_line})).map(
    lambda parts: {**parts[0], **parts[1]}
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("log"), fields),
        st.tuples(st.just("update"), st.integers(0, 50), changes),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(
            st.just("goals"),
            st.fixed_dictionaries(
                {"weekly_workouts": st.integers(1, 100)},
                optional={
                    "target_weight_kg": weights,
                    "target_date": st.dates(TODAY + timedelta(days=1), TODAY + timedelta(days=3000)),
                    "weekly_calories_burned": st.floats(min_value=1, max_value=700_000),
                },
            ).map(lambda goals: goals if "target_weight_kg" in goals else {**goals, "target_date": None}),
        ),
        st.tuples(st.just("clear goals")),
    ),
    max_size=25,
)


def state(fields: dict) -> dict:
    """The fields as the store takes them: a weight in pounds is kept with its kilograms, as a POST or PUT keeps it."""
    unit, weight = fields.get("weight", ("weight_kg", None))
    rest = {name: value for name, value in fields.items() if name != "weight"}
    if unit == "weight_lb":
        return {**rest, "weight_lb": weight, "weight_kg": kilograms(weight)}
    return {**rest, "weight_kg": weight} if "weight" in fields else rest


def write_history(database, user: str, history: list[tuple]) -> None:
    change = Change(actor="history@clients", request_id=None)

    def work(cursor) -> None:
        live: list[int] = []
        for step in history:
            if step[0] == "log":
                live.append(appending.log_new(cursor, user, state(step[1]), change).log_id)
            elif step[0] == "update" and live:
                locked = appending.lock_log(cursor, live[step[1] % len(live)])
                appending.update(cursor, locked, state(step[2]), change)
            elif step[0] == "delete" and live:
                appending.delete(cursor, appending.lock_log(cursor, live.pop(step[1] % len(live))), change)
            elif step[0] == "goals":
                goal_events.write(cursor, user, step[1], change.actor, None)
            elif step[0] == "clear goals":
                goal_events.write(cursor, user, None, change.actor, None)

    database.run(work)


def export_all(api, token, user) -> dict:
    """Every page of the user's export, joined (small pages, so the paging is part of the round trip)."""
    path = f"/api/progress/export/{user}"
    pages = [api.call("GET", path, token, params={"limit": 7}).json()]
    while pages[-1]["next_cursor"]:
        pages.append(api.call("GET", path, token, params={"limit": 7, "cursor": pages[-1]["next_cursor"]}).json())
    return {**pages[0], **{items: [i for page in pages for i in page[items]] for items in ("logs", "log_events")}}


def without_identity(log: dict) -> str:
    return json.dumps([log[name] for name in VALUES])


def summary_values(summary: dict) -> dict:
    """A summary without the goals' version (identity: the import writes the goals as their first version)."""
    goals = summary["goals"] and {name: value for name, value in summary["goals"].items() if name != "version"}
    return {**summary, "goals": goals}


def goal_targets(goals: dict | None) -> dict | None:
    return None if goals is None else {name: goals[name] for name in goals if name not in ("version", "updated_at")}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_export_erase_import_export_again_gives_the_same_data(api, tokens, database, user_profile, history):
    from progress_tracking import logs as log_operations

    user = f"round-trip-{uuid.uuid4().hex[:10]}"
    user_profile.known.add(user)
    token = tokens.client()
    write_history(database, user, history)
    before = export_all(api, token, user)
    # When the user is erased and their export imported
    log_operations.erase_user(database, MACHINE, user)
    assert sum(count_rows(database, user).values()) == 0
    response = api.call("POST", f"/api/progress/import/{user}", token, data=json.dumps(before))
    assert response.status_code == 200, response.text[:500]
    after = export_all(api, token, user)
    # Then the logs' dates and values, the goals and the summary are the same
    assert sorted(map(without_identity, after["logs"])) == sorted(map(without_identity, before["logs"]))
    assert goal_targets(after["goals"]) == goal_targets(before["goals"])
    assert summary_values(after["summary"]) == summary_values(before["summary"])
    # And a second import of the same export changes nothing
    rows = count_rows(database, user)
    again = api.call("POST", f"/api/progress/import/{user}", token, data=json.dumps(before)).json()
    assert again["unchanged"] == len(before["logs"]) and again["created"] == again["updated"] == 0
    assert count_rows(database, user) == rows
