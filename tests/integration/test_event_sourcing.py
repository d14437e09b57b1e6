"""Event sourcing in full, on a real Postgres: ordering under concurrency, history, rollback, time travel, If-Match,
idempotency, erasure, and projections that always equal the fold of their events."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progress_tracking import outbox
from progress_tracking.db import Database
from progress_tracking.models.log import MUTABLE_FIELDS
from progress_tracking.store import appending, checkpoints, rebuild
from tests.helpers import (
    FIRST_VERSION_BODY,
    assert_error,
    count_rows,
    log,
    wait_for_the_horizon,
    write_to_logs,
)

# --- 1. ordering: a late commit is never skipped by the follower of the log (the outbox relay's) ------------------


def follow(
    database: Database, checkpoint: checkpoints.Checkpoint, limit: int
) -> list[tuple[checkpoints.Checkpoint, int, str]]:
    """The relay's next read after `checkpoint`, as (checkpoint, position in the log, user id)."""
    return [
        (event.checkpoint, event.position, event.user_id)
        for event in database.run(lambda c: outbox.events_after(c, checkpoint, limit))
    ]


def latest_checkpoint(database: Database) -> checkpoints.Checkpoint:
    wait_for_the_horizon(database)
    checkpoint = checkpoints.START
    while batch := follow(database, checkpoint, 10_000):
        checkpoint = batch[-1][0]
    return checkpoint


def append_in_open_transaction(database_url: str, user_id: str):
    connection = psycopg2.connect(database_url)
    cursor = connection.cursor()
    change = appending.Change(actor="t", request_id=None)
    log = appending.log_new(cursor, user_id, {"date": date(2026, 1, 1), "weight_kg": 70.0}, change)
    cursor.execute("SELECT position FROM progress_events WHERE log_id = %s", (log.log_id,))
    return connection, cursor.fetchone()[0]


def test_a_reader_following_positions_never_skips_an_event_whose_transaction_commits_late(database, database_url):
    checkpoint = latest_checkpoint(database)
    # Given: transaction A appends first (lower position) but commits after transaction B.
    early, early_position = append_in_open_transaction(database_url, "order-a")
    late, late_position = append_in_open_transaction(database_url, "order-b")
    assert early_position < late_position
    late.commit()

    # The trap: B is visible and has the higher position, so "position > N" would checkpoint past A forever.
    def visible_positions(cursor):
        cursor.execute("SELECT position FROM progress_events WHERE position >= %s", (early_position,))
        return sorted(row[0] for row in cursor.fetchall())

    assert database.run(visible_positions) == [late_position]
    # The follower reads nothing yet: A's transaction is older than B's and still running.
    assert follow(database, checkpoint, 100) == []

    early.commit()
    wait_for_the_horizon(database)
    read = follow(database, checkpoint, 100)
    assert [(position, user) for _, position, user in read] == [(early_position, "order-a"), (late_position, "order-b")]
    early.close()
    late.close()


def test_following_in_small_batches_sees_every_event_exactly_once_while_writers_run(database, database_url):
    checkpoint = latest_checkpoint(database)
    users = [f"follow-{uuid.uuid4().hex[:6]}-{n}" for n in range(4)]
    stop = threading.Event()

    def writer(user_id: str) -> None:
        db = Database(database_url)
        while not stop.is_set():
            change = appending.Change(actor="w", request_id=None)
            db.run(
                lambda cursor: appending.log_new(cursor, user_id, {"date": date(2026, 1, 1), "weight_kg": 1.0}, change)
            )
        db.close()

    seen: list[int] = []
    with ThreadPoolExecutor(len(users)) as pool:
        for user_id in users:
            pool.submit(writer, user_id)
        for _ in range(200):
            batch = follow(database, checkpoint, 7)
            if batch:
                seen += [position for _, position, _ in batch]
                checkpoint = batch[-1][0]
        stop.set()

    def written(cursor):
        cursor.execute("SELECT position FROM progress_events WHERE user_id = ANY(%s)", (users,))
        return sorted(row[0] for row in cursor.fetchall())

    wait_for_the_horizon(database)  # every writer has finished
    while batch := follow(database, checkpoint, 7):
        seen += [position for _, position, _ in batch]
        checkpoint = batch[-1][0]
    written_positions = database.run(written)
    assert written_positions and sorted(seen) == written_positions
    assert len(seen) == len(set(seen))


# --- 2-4. history, rollback, time travel through the API ---------------------------------------------------------


def test_history_lists_every_event_of_a_log_even_after_deletion(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"weight_kg": 81.0})
    api.call("DELETE", f"/api/progress/log/{created['log_id']}", token)
    response = api.call("GET", f"/api/progress/log/{created['log_id']}/history", token)
    assert response.status_code == 200
    body = response.json()
    assert body["log_id"] == created["log_id"] and body["user_id"] == user
    assert [(e["version"], e["type"], e["actor"]) for e in body["events"]] == [
        (1, "logged", user),
        (2, "updated", user),
        (3, "deleted", user),
    ]
    assert body["events"][0]["state"]["weight_kg"] == 82.4 and body["events"][1]["state"]["weight_kg"] == 81.0
    assert all(e["occurred_at"].endswith("Z") and e["request_id"] for e in body["events"])


def test_history_follows_the_ownership_rules(api, tokens, new_user):
    owner, other = new_user(), new_user()
    created = log(api, tokens.user(owner), owner)
    path = f"/api/progress/log/{created['log_id']}/history"
    assert_error(api.call("GET", path, tokens.user(other)), 404, "log_not_found")
    assert_error(api.call("GET", path, tokens.user(owner, scope="write:progress")), 403, "insufficient_scope")
    assert_error(api.call("GET", "/api/progress/log/999999999999/history", tokens.client()), 404, "log_not_found")


def test_history_pages_like_the_list(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    path = f"/api/progress/log/{created['log_id']}/history"
    for weight in (81.0, 80.0, 79.0, 78.0):
        api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"weight_kg": weight})
    whole = api.call("GET", path, token).json()  # five events: one page by default, as before paging
    assert [e["version"] for e in whole["events"]] == [1, 2, 3, 4, 5] and whole["next_cursor"] is None
    pages, cursor = [], None
    while True:
        body = api.call("GET", path, token, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert body["log_id"] == created["log_id"] and body["user_id"] == user
        pages.append([e["version"] for e in body["events"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [[1, 2], [3, 4], [5]]
    # A cursor this service did not issue, or issued for another page (the list's, the goals' history's), is a 400.
    log(api, token, user)
    listed = api.call("GET", f"/api/progress/{user}", token, params={"limit": 1}).json()["next_cursor"]
    for bad in ["not-a-cursor", "W10", listed]:
        assert_error(api.call("GET", path, token, params={"cursor": bad}), 400, "invalid_cursor")
    for params in [{"limit": 0}, {"limit": 1001}, {"page": 2}]:
        assert_error(api.call("GET", path, token, params=params), 400, "validation_error")


def test_rollback_restores_an_earlier_state_as_a_new_version(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"weight_kg": 90.0, "notes": "typo"})
    response = api.call("POST", f"/api/progress/log/{created['log_id']}/rollback", token, json={"to_version": 1})
    assert response.status_code == 200, response.text
    restored = response.json()["log"]
    assert (restored["weight_kg"], restored["notes"], restored["version"]) == (82.4, None, 3)
    assert response.headers["ETag"] == '"3"'
    assert restored["created_at"] == created["created_at"]
    history = api.call("GET", f"/api/progress/log/{created['log_id']}/history", token).json()["events"]
    assert history[-1]["type"] == "restored"


def test_rollback_undeletes_a_deleted_log(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    api.call("DELETE", f"/api/progress/user/{user}/logs", token)
    assert api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"] == []
    response = api.call("POST", f"/api/progress/log/{created['log_id']}/rollback", token, json={"to_version": 1})
    assert response.status_code == 200
    listed = api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
    assert [(entry["log_id"], entry["version"]) for entry in listed] == [(created["log_id"], 3)]


@pytest.mark.parametrize("to_version", [0, 3, 99])
def test_impossible_rollbacks_are_409_and_write_nothing(api, tokens, new_user, to_version):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    api.call("DELETE", f"/api/progress/log/{created['log_id']}", token)  # version 2 is the deletion
    path = f"/api/progress/log/{created['log_id']}/rollback"
    response = api.call("POST", path, token, json={"to_version": to_version})
    if to_version == 0:
        assert_error(response, 400, "validation_error")
    else:
        assert_error(response, 409, "invalid_rollback")
    assert_error(api.call("POST", path, token, json={"to_version": 2}), 409, "invalid_rollback")
    history = api.call("GET", f"/api/progress/log/{created['log_id']}/history", token).json()["events"]
    assert len(history) == 2


def test_rollback_needs_write_scope_and_ownership(api, tokens, new_user):
    owner, other = new_user(), new_user()
    created = log(api, tokens.user(owner), owner)
    api.call("PUT", f"/api/progress/log/{created['log_id']}", tokens.user(owner), json={"notes": "x"})
    path = f"/api/progress/log/{created['log_id']}/rollback"
    assert_error(
        api.call("POST", path, tokens.user(owner, scope="read:progress"), json={"to_version": 1}),
        403,
        "insufficient_scope",
    )
    assert_error(api.call("POST", path, tokens.user(other), json={"to_version": 1}), 404, "log_not_found")


def test_as_of_shows_the_logs_as_they_stood_at_that_moment(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    first = log(api, token, user, date="2026-01-01")
    second = log(api, token, user, date="2026-01-02")
    before_update = second["created_at"]
    updated = api.call("PUT", f"/api/progress/log/{first['log_id']}", token, json={"weight_kg": 70.0}).json()
    api.call("DELETE", f"/api/progress/log/{second['log_id']}", token)

    def as_of(moment: str, **params):
        response = api.call("GET", f"/api/progress/{user}", token, params={"as_of": moment, **params})
        assert response.status_code == 200, response.text
        return response.json()

    then = as_of(before_update)["progress_logs"]
    assert [(e["log_id"], e["weight_kg"], e["version"]) for e in then] == [
        (first["log_id"], 82.4, 1),
        (second["log_id"], 82.4, 1),
    ]
    assert then[0] == first and then[1] == second  # identical to what the API returned at the time
    now = as_of(datetime.now(UTC).isoformat())["progress_logs"]
    assert now == [updated["updated_log"]]
    assert as_of("2000-01-01T00:00:00Z")["progress_logs"] == []
    paged = as_of(before_update, limit=1)
    assert len(paged["progress_logs"]) == 1 and paged["next_cursor"]
    rest = as_of(before_update, limit=1, cursor=paged["next_cursor"])
    assert rest["progress_logs"][0]["log_id"] == second["log_id"]


@pytest.mark.parametrize("as_of", ["yesterday", "2026-01-01T00:00:00", "2026-01-01"])
def test_as_of_must_be_an_rfc3339_time_with_offset(api, tokens, new_user, as_of):
    user = new_user()
    response = api.call("GET", f"/api/progress/{user}", tokens.user(user), params={"as_of": as_of})
    assert_error(response, 400, "validation_error")


# --- 5. If-Match and idempotency ---------------------------------------------------------------------------------


def test_responses_carry_the_version_as_etag_and_if_match_guards_changes(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    response = api.call("POST", "/api/progress/log", token, json={"user_id": user, **FIRST_VERSION_BODY})
    assert response.headers["ETag"] == '"1"'
    path = f"/api/progress/log/{response.json()['id']}"
    updated = api.call("PUT", path, token, json={"notes": "a"}, headers={"If-Match": '"1"'})
    assert updated.status_code == 200 and updated.headers["ETag"] == '"2"'
    for stale in ('"1"', 'W/"2"', "garbage"):
        assert_error(
            api.call("PUT", path, token, json={"notes": "b"}, headers={"If-Match": stale}), 412, "precondition_failed"
        )
        assert_error(api.call("DELETE", path, token, headers={"If-Match": stale}), 412, "precondition_failed")
    assert_error(
        api.call("POST", f"{path}/rollback", token, json={"to_version": 1}, headers={"If-Match": '"1"'}),
        412,
        "precondition_failed",
    )
    assert api.call("PUT", path, token, json={"notes": "c"}, headers={"If-Match": '"7", "2"'}).status_code == 200
    assert api.call("DELETE", path, token, headers={"If-Match": "*"}).status_code == 200
    history = api.call("GET", f"{path}/history", token).json()["events"]
    assert [e["state"]["notes"] for e in history] == [None, "a", "c", "c"]


def test_concurrent_updates_with_the_same_if_match_let_exactly_one_through(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    path = f"/api/progress/log/{created['log_id']}"
    with ThreadPoolExecutor(6) as pool:
        statuses = list(
            pool.map(
                lambda n: api.call("PUT", path, token, json={"notes": str(n)}, headers={"If-Match": '"1"'}).status_code,
                range(6),
            )
        )
    assert sorted(statuses) == [200, 412, 412, 412, 412, 412]


def test_an_idempotent_retry_replays_the_original_response_and_writes_nothing(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    body = {"user_id": user, **FIRST_VERSION_BODY}
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = api.call("POST", "/api/progress/log", token, json=body, headers=key)
    again = api.call("POST", "/api/progress/log", token, json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and again.headers["Location"] == first.headers["Location"]
    assert len(api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]) == 1
    other = api.call("POST", "/api/progress/log", token, json={**body, "weight_kg": 70.0}, headers=key)
    assert_error(other, 422, "idempotency_key_reused")
    assert (
        api.call("POST", "/api/progress/log", token, json=body, headers={"Idempotency-Key": "a b"}).status_code == 400
    )


def test_a_retry_replays_its_response_while_the_user_profile_service_is_down(api, tokens, new_user, user_profile):
    from progress_tracking import user_service

    user = new_user()
    token = tokens.user(user)
    body = {"user_id": user, **FIRST_VERSION_BODY}
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = api.call("POST", "/api/progress/log", token, json=body, headers=key)
    assert first.status_code == 201
    user_service.get_user_service.cache_clear()  # the retry lands on a container that has not confirmed the user
    user_profile.mode = "error"
    again = api.call("POST", "/api/progress/log", token, json=body, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert again.json() == first.json()
    # The positive control: a request that was never answered cannot be replayed, so it needs the service.
    fresh = api.call("POST", "/api/progress/log", token, json=body, headers={"Idempotency-Key": f"key-{uuid.uuid4()}"})
    assert_error(fresh, 503, "user_service_unavailable")
    assert len(api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]) == 1


def test_concurrent_requests_with_one_key_write_once(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    body = {"user_id": user, **FIRST_VERSION_BODY}
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda _: api.call("POST", "/api/progress/log", token, json=body, headers=key), range(8))
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 7
    assert len(api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]) == 1


def test_idempotency_keys_belong_to_their_caller(api, tokens, new_user):
    user = new_user()
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    body = {"user_id": user, **FIRST_VERSION_BODY}
    first = api.call("POST", "/api/progress/log", tokens.user(user), json=body, headers=key)
    second = api.call("POST", "/api/progress/log", tokens.client(), json=body, headers=key)
    assert first.json()["id"] != second.json()["id"]


# --- 6. delete and erase -----------------------------------------------------------------------------------------


def test_erasure_needs_admin_and_removes_every_trace(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    created = log(api, token, user)
    log(api, token, user)
    api.call(
        "POST",
        "/api/progress/log",
        token,
        json={"user_id": user, **FIRST_VERSION_BODY},
        headers={"Idempotency-Key": "erase-me"},
    )
    api.call("GET", f"/api/progress/summary/{user}", token)
    assert_error(
        api.call("DELETE", f"/api/progress/user/{user}/logs", token, params={"erase": "true"}),
        403,
        "insufficient_scope",
    )
    admin = tokens.user("someone-else", scope="delete:progress admin:progress")
    response = api.call("DELETE", f"/api/progress/user/{user}/logs", admin, params={"erase": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["erased"] == {
        "events": 3,
        "logs": 3,
        "log_versions": 3,
        "summaries": 1,
        "idempotency_keys": 1,
        "goal_events": 0,
        "goals": 0,
        "client_records": 0,
        "streams": 1,
    }
    assert set(count_rows(database, user).values()) == {0}
    assert_error(api.call("GET", f"/api/progress/log/{created['log_id']}/history", token), 404, "log_not_found")
    assert_error(
        api.call("DELETE", f"/api/progress/user/{user}/logs", admin, params={"erase": "maybe"}), 400, "validation_error"
    )


# --- 7. projections equal the fold of the events -----------------------------------------------------------------


def fold(events: list[tuple]) -> dict[int, tuple]:
    """The live logs the events describe, computed independently of the store's SQL."""
    state: dict[int, tuple] = {}
    for log_id, version, event_type, data in events:
        if event_type == "deleted":
            state.pop(log_id, None)
        else:
            state[log_id] = (version, *(data[name] for name in MUTABLE_FIELDS))
    return state


def projection_and_fold(database: Database, user_id: str):
    def read(cursor):
        cursor.execute(
            "SELECT log_id, version, event_type, data FROM progress_events WHERE user_id = %s ORDER BY position",
            (user_id,),
        )
        events = cursor.fetchall()
        cursor.execute(
            f"SELECT log_id, version, {', '.join(MUTABLE_FIELDS)} FROM progress_logs WHERE user_id = %s", (user_id,)
        )
        live = {row[0]: (row[1], row[2].isoformat(), *row[3:]) for row in cursor.fetchall()}
        return live, fold(events)

    return database.run(read)


PRINTABLE = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
# A value for every mutable field (every field of an event's data), so that a column the store forgets shows.
FIELD_VALUES = {
    "date": st.dates(date(2025, 1, 1), date(2026, 1, 1)).map(date.isoformat),
    "weight_kg": st.one_of(st.none(), st.floats(30, 200)),
    "workout_done": st.one_of(st.none(), st.sampled_from(["run", "Swim", " yoga "])),
    "calories_burned": st.one_of(st.none(), st.floats(0, 5000, allow_subnormal=False)),
    "notes": st.one_of(st.none(), st.text(PRINTABLE, max_size=5)),
}
assert set(FIELD_VALUES) == set(MUTABLE_FIELDS)
# A new log always has a weight (the other measurements may be null); an update sets any subset of the fields.
new_log = st.tuples(st.just("log"), st.fixed_dictionaries({**FIELD_VALUES, "weight_kg": st.floats(30, 200)}))
operations = st.tuples(
    new_log,
    st.lists(
        st.one_of(
            new_log,
            st.tuples(st.just("update"), st.integers(0, 5), st.fixed_dictionaries({}, optional=FIELD_VALUES)),
            st.tuples(st.just("delete"), st.integers(0, 5)),
            st.tuples(st.just("rollback"), st.integers(0, 5), st.integers(1, 6)),
            st.tuples(st.just("delete_all")),
        ),
        max_size=12,
    ),
).map(lambda first_and_rest: [first_and_rest[0], *first_and_rest[1]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_projections_always_equal_the_fold_of_the_events(database, user_profile, service_env, steps):
    from progress_tracking.user_service import UserServiceClient

    user = f"prop-{uuid.uuid4().hex[:10]}"
    user_profile.known.add(user)
    users = UserServiceClient(user_profile.base_url)
    created: list[int] = []
    for step in steps:
        write_to_logs(database, users, user, step, created)
        live, folded = projection_and_fold(database, user)
        assert live == folded, f"after {step}"  # after every step: a later deletion must not hide a wrong column
    assert database.run(rebuild.compare_projection).consistent


def test_the_rebuild_finds_every_kind_of_drift_and_repairs_it(database, new_user):
    user = new_user()
    change = appending.Change(actor="t", request_id=None)
    logs = [
        database.run(lambda c: appending.log_new(c, user, {"date": date(2026, 1, d), "weight_kg": 60.0}, change))
        for d in (1, 2, 3)
    ]
    assert database.run(rebuild.compare_projection).consistent

    def corrupt(cursor):
        cursor.execute("UPDATE progress_logs SET weight_kg = 1 WHERE log_id = %s", (logs[0].log_id,))
        cursor.execute("DELETE FROM progress_logs WHERE log_id = %s", (logs[1].log_id,))
        cursor.execute(
            "INSERT INTO progress_logs SELECT 9000000000 + log_id, user_id, date, weight_kg, workout_done,"
            " calories_burned, notes, version, created_at, updated_at FROM progress_logs WHERE log_id = %s",
            (logs[2].log_id,),
        )

    database.run(corrupt)
    report = database.run(rebuild.compare_projection)
    assert (report.different, report.missing, report.unexpected) == (
        [logs[0].log_id],
        [logs[1].log_id],
        [9000000000 + logs[2].log_id],
    )
    database.run(rebuild.replace_projection)
    assert database.run(rebuild.compare_projection).consistent


def test_the_rebuild_compares_the_logs_states_in_time_too_and_repairs_them(database, new_user):
    user = new_user()
    change = appending.Change(actor="t", request_id=None)
    log = database.run(lambda c: appending.log_new(c, user, {"date": date(2026, 1, 1), "weight_kg": 60.0}, change))
    database.run(lambda c: appending.update(c, appending.lock_log(c, log.log_id), {"weight_kg": 61.0}, change))
    assert database.run(rebuild.compare_projection).consistent  # positive control: no drift, none reported

    def corrupt(cursor):
        cursor.execute("UPDATE progress_log_versions SET valid_to = 'infinity' WHERE log_id = %s", (log.log_id,))

    database.run(corrupt)
    report = database.run(rebuild.compare_projection)
    assert (report.states_differ, report.different, report.missing) == ([log.log_id], [], [])
    database.run(rebuild.replace_projection)
    assert database.run(rebuild.compare_projection).consistent


def test_the_rebuild_compares_the_facts_summaries_fold_too_and_repairs_them(database, new_user):
    user = new_user()
    change = appending.Change(actor="t", request_id=None)
    for day in (30, 31):
        entry = {"date": date(2026, 1, day), "weight_kg": 60.0, "workout_done": "Run"}
        database.run(lambda c, entry=entry: appending.log_new(c, user, entry, change))
    assert database.run(rebuild.compare_projection).consistent  # positive control: no drift, none reported
    for corrupt in (
        "UPDATE progress_log_months SET weight_sum = weight_sum + 0.5 WHERE user_id = %s",
        "UPDATE progress_workout_counts SET log_count = 3 WHERE user_id = %s",
        "UPDATE progress_log_weeks SET workouts = 0 WHERE user_id = %s",
        "UPDATE progress_log_week_runs SET weeks = '{}' WHERE user_id = %s",
        "DELETE FROM progress_log_months WHERE user_id = %s",
    ):
        database.run(lambda c, corrupt=corrupt: c.execute(corrupt, (user,)))
        report = database.run(rebuild.compare_projection)
        assert (report.facts_differ, report.different, report.states_differ) == ([user], [], []), corrupt
        database.run(rebuild.replace_projection)
        assert database.run(rebuild.compare_projection).consistent
