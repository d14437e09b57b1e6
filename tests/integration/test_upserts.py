"""Client record ids (the Health Connect rule) and the batch upsert, through the layer on a real Postgres: a higher
client version updates, an equal or lower one answers the stored log and writes nothing, a deleted log's id stays
reserved, two sources are two records, a batch is all or nothing, and concurrent writers keep every rule."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
import pytest

from localdev.wire import RoundTripCounter
from progress_tracking import logs, upserts
from progress_tracking.db import Database
from progress_tracking.errors import IdempotencyKeyReused, InvalidRequest, UnknownUser, UserServiceUnavailable
from progress_tracking.models.log import LogCreate, LogItem, LogUpdate
from progress_tracking.user_service import UserServiceClient
from tests.helpers import MACHINE, VIA_POOLER, blocked_by, stream_version, wait_until


@pytest.fixture
def users(user_profile) -> UserServiceClient:
    return UserServiceClient(user_profile.base_url)


def item(record: str | None, version: int | None, weight: float = 70.0, day: int = 1, **fields: Any) -> LogItem:
    body = {"date": f"2026-03-{day:02d}", "weight_kg": weight, **fields}
    if record is not None:
        body |= {"client_record_id": record, "client_version": version}
    return LogItem.model_validate(body)


def post(user: str, record: str, version: int, weight: float = 70.0, **fields: Any) -> LogCreate:
    return LogCreate.model_validate(
        {"user_id": user, "date": "2026-03-01", "weight_kg": weight, "client_record_id": record,
         "client_version": version, **fields}
    )  # fmt: skip


def events_of(database: Database, user: str) -> list[tuple[int, int, str]]:
    """The user's events as (log_id, version, type), in stream order."""

    def read(cursor):
        cursor.execute(
            "SELECT log_id, version, event_type FROM progress_events WHERE user_id = %s ORDER BY stream_position",
            (user,),
        )
        return cursor.fetchall()

    return database.run(read)


def live_logs(database: Database, user: str) -> list[tuple[int, float, int]]:
    def read(cursor):
        cursor.execute(
            "SELECT log_id, weight_kg, version FROM progress_logs WHERE user_id = %s ORDER BY log_id", (user,)
        )
        return cursor.fetchall()

    return database.run(read)


# --- the Health Connect rule on a single POST ---------------------------------------------------------------------


def test_a_higher_client_version_updates_the_log_and_an_equal_or_lower_one_is_a_no_op(database, users, new_user):
    user = new_user("upsert")
    first = logs.log_progress(database, users, MACHINE, post(user, "hc-1", 3, 70.0), None)
    assert (first.outcome, first.log.version, first.log.weight_kg) == ("created", 1, 70.0)

    higher = logs.log_progress(database, users, MACHINE, post(user, "hc-1", 4, 71.5), None)
    assert (higher.outcome, higher.log.log_id, higher.log.version, higher.log.weight_kg) == (
        "updated", first.log.log_id, 2, 71.5,
    )  # fmt: skip
    after_update = stream_version(database, user)

    for version, weight in ((4, 99.0), (2, 98.0)):  # equal, then lower: the stored log answered, nothing written
        same = logs.log_progress(database, users, MACHINE, post(user, "hc-1", version, weight), None)
        assert (same.outcome, same.deleted) == ("unchanged", False)
        assert same.log == higher.log
    assert stream_version(database, user) == after_update
    assert events_of(database, user) == [(first.log.log_id, 1, "logged"), (first.log.log_id, 2, "updated")]
    assert live_logs(database, user) == [(first.log.log_id, 71.5, 2)]


def test_a_deleted_logs_id_stays_reserved_until_a_higher_version_restores_it(database, users, new_user):
    user = new_user("reserved")
    log_id = logs.log_progress(database, users, MACHINE, post(user, "hc-2", 1, 70.0), None).log.log_id
    logs.delete_log(database, MACHINE, log_id, None)

    late = logs.log_progress(database, users, MACHINE, post(user, "hc-2", 1, 70.0), None)
    assert (late.outcome, late.deleted, late.log.log_id, late.log.version) == ("unchanged", True, log_id, 2)
    assert live_logs(database, user) == []  # the late duplicate did not bring it back

    newer = logs.log_progress(database, users, MACHINE, post(user, "hc-2", 2, 72.0), None)
    assert (newer.outcome, newer.deleted, newer.log.log_id, newer.log.version) == ("restored", False, log_id, 3)
    assert live_logs(database, user) == [(log_id, 72.0, 3)]
    assert [kind for _, _, kind in events_of(database, user)] == ["logged", "deleted", "restored"]
    # The restored log keeps its birth; history and time travel see every state.
    assert newer.log.created_at < newer.log.updated_at


def test_two_sources_with_the_same_id_are_two_logs(database, users, new_user):
    user = new_user("sources")
    phone = logs.log_progress(database, users, MACHINE, post(user, "rec-1", 1, source="health-connect"), None)
    scale = logs.log_progress(database, users, MACHINE, post(user, "rec-1", 1, source="withings"), None)
    assert (phone.outcome, scale.outcome) == ("created", "created")
    assert phone.log.log_id != scale.log.log_id
    again = logs.log_progress(database, users, MACHINE, post(user, "rec-1", 1, source="withings"), None)
    assert (again.outcome, again.log.log_id) == ("unchanged", scale.log.log_id)


def test_erasure_forgets_the_ids_and_a_later_post_creates_a_new_log(database, users, new_user):
    user = new_user("erased-ids")
    first = logs.log_progress(database, users, MACHINE, post(user, "hc-e", 5), None)
    erased = logs.erase_user(database, MACHINE, user)
    assert erased["client_records"] == 1
    # The control of the rule before: the same id at version 5 would have been unchanged.
    again = logs.log_progress(database, users, MACHINE, post(user, "hc-e", 5), None)
    assert (again.outcome, again.log.version) == ("created", 1) and again.log.log_id != first.log.log_id


def test_the_same_id_of_another_user_is_another_record(database, users, new_user):
    one, other = new_user("owner"), new_user("owner")
    mine = logs.log_progress(database, users, MACHINE, post(one, "shared", 1), None)
    theirs = logs.log_progress(database, users, MACHINE, post(other, "shared", 1), None)
    assert (mine.outcome, theirs.outcome) == ("created", "created")


def test_a_put_between_upserts_is_kept_until_a_higher_version_replaces_it(database, users, new_user):
    user = new_user("put-between")
    log_id = logs.log_progress(database, users, MACHINE, post(user, "hc-3", 1), None).log.log_id
    logs.update_log(database, MACHINE, log_id, LogUpdate(notes="edited on the web"), None)
    same = logs.log_progress(database, users, MACHINE, post(user, "hc-3", 1), None)
    assert (same.outcome, same.log.notes, same.log.version) == ("unchanged", "edited on the web", 2)
    newer = logs.log_progress(database, users, MACHINE, post(user, "hc-3", 2), None)
    assert (newer.outcome, newer.log.notes, newer.log.version) == ("updated", None, 3)


def test_an_idempotency_key_replays_an_upsert_and_refuses_another_body(database, users, new_user):
    user = new_user("upsert-key")
    first = logs.log_progress(database, users, MACHINE, post(user, "hc-4", 1), None, "upsert-key-1")
    retry = logs.log_progress(database, users, MACHINE, post(user, "hc-4", 1), None, "upsert-key-1")
    assert retry.replayed and (retry.outcome, retry.log) == (first.outcome, first.log)
    with pytest.raises(IdempotencyKeyReused):
        logs.log_progress(database, users, MACHINE, post(user, "hc-4", 2), None, "upsert-key-1")
    # The control: a new key with the same body is a new request, answered by the rule (unchanged).
    other = logs.log_progress(database, users, MACHINE, post(user, "hc-4", 1), None, "upsert-key-2")
    assert (other.replayed, other.outcome) == (False, "unchanged")


def test_a_plain_post_still_hashes_its_key_as_before(database, users, new_user):
    # A body without the new fields hashes as it did before they existed: a retry across the deploy replays.
    import hashlib

    from progress_tracking.idempotency import Claim

    body = {"user_id": "u", "date": "2026-03-01", "weight_kg": 70.0}
    before = (
        '{"user_id":"u","date":"2026-03-01","weight_kg":70.0,"workout_done":null,"calories_burned":null,"notes":null}'
    )
    claim = Claim.of("p", "k", LogCreate.model_validate(body))
    assert claim.request_hash == hashlib.sha256(before.encode()).hexdigest()
    with_source = Claim.of("p", "k", LogCreate.model_validate({**body, "source": "withings"}))
    assert with_source.request_hash != claim.request_hash


# --- the batch ------------------------------------------------------------------------------------------------------


def test_a_batch_answers_each_items_outcome_in_order(database, users, new_user):
    user = new_user("batch")
    logs.log_progress(database, users, MACHINE, post(user, "a", 2, 70.0), None)
    logs.log_progress(database, users, MACHINE, post(user, "b", 2, 70.0), None)
    result = upserts.upsert_batch(
        database,
        users,
        MACHINE,
        user,
        [item("a", 3, 71.0), item(None, None, 72.0, day=2), item("b", 1, 73.0), item("c", 0, 74.0, day=3)],
        None,
    )
    assert [(i.index, i.outcome) for i in result.items] == [
        (0, "updated"), (1, "created"), (2, "unchanged"), (3, "created"),
    ]  # fmt: skip
    assert [i.log.weight_kg for i in result.items] == [71.0, 72.0, 70.0, 74.0]
    assert len({i.log.log_id for i in result.items}) == 4
    # Three events, in the items' order, each at its own stream position; the stream moved to the last.
    written = events_of(database, user)[2:]
    assert [(log_id, kind) for log_id, _, kind in written] == [
        (result.items[0].log.log_id, "updated"),
        (result.items[1].log.log_id, "logged"),
        (result.items[3].log.log_id, "logged"),
    ]


def test_a_batch_names_one_record_once(database, users, new_user):
    user = new_user("twice")
    with pytest.raises(InvalidRequest) as refused:
        upserts.upsert_batch(
            database, users, MACHINE, user, [item("a", 1), item("b", 1), item("a", 2), item("a", 3)], None
        )
    assert [d["field"] for d in refused.value.details] == ["logs.2.client_record_id", "logs.3.client_record_id"]
    assert events_of(database, user) == []
    # The control: the same id from two sources is two records, in one batch too.
    result = upserts.upsert_batch(database, users, MACHINE, user, [item("a", 1), item("a", 1, source="withings")], None)
    assert [i.outcome for i in result.items] == ["created", "created"]


def test_a_batch_asks_the_user_profile_service_once(database, user_profile, users, new_user):
    user = new_user("asked-once")

    def asked() -> int:
        return sum(1 for path in user_profile.requests if path.endswith(f"/validate/{user}"))

    assert asked() == 0  # the control: the stand-in records every question
    upserts.upsert_batch(database, users, MACHINE, user, [item(f"r{n}", 1, day=n + 1) for n in range(20)], None)
    assert asked() == 1


def test_a_batch_for_an_unknown_user_writes_nothing(database, users):
    with pytest.raises(UnknownUser):
        upserts.upsert_batch(database, users, MACHINE, "nobody-knows-me", [item("a", 1)], None)
    assert events_of(database, "nobody-knows-me") == []


def test_a_batch_is_one_transaction_of_two_round_trips(database_url, users, new_user):
    user = new_user("batch-trips")
    items = [item(f"r{n}", 1, 60 + n / 10, day=1 + n % 28) for n in range(500)]
    with RoundTripCounter(database_url) as counter:
        counted = Database(counter.url(database_url))
        counted.single(lambda cursor: cursor.execute("SELECT 1"))
        with counter.counting() as fresh:
            upserts.upsert_batch(counted, users, MACHINE, user, items, None, "batch-trips-key")
        with counter.counting() as replayed:
            again = upserts.upsert_batch(counted, users, MACHINE, user, items, None, "batch-trips-key")
        with counter.counting() as unchanged:
            same = upserts.upsert_batch(counted, users, MACHINE, user, items, None)
        counted.close()
    assert (fresh, replayed, unchanged) == ([2], [2], [2])
    assert again.replayed and len(again.items) == 500
    assert {i.outcome for i in same.items} == {"unchanged"}


def test_a_replay_needs_no_user_profile_service(database, user_profile, users, new_user):
    user = new_user("replay-down")
    first = upserts.upsert_batch(database, users, MACHINE, user, [item("a", 1)], None, "down-key")
    user_profile.mode = "error"
    again = upserts.upsert_batch(database, users, MACHINE, user, [item("a", 1)], None, "down-key")
    assert again.replayed and again.items == first.items
    with pytest.raises(UserServiceUnavailable):  # the control: a new key needs the service
        upserts.upsert_batch(database, users, MACHINE, user, [item("a", 1)], None, "down-key-2")


# --- concurrency ----------------------------------------------------------------------------------------------------


@pytest.mark.skipif(VIA_POOLER, reason="the holder's backend is found by its pid, which a pooler's client cannot name")
def test_an_upsert_that_waited_for_the_lock_sees_the_record_written_meanwhile(database, database_url, users, new_user):
    # Deterministic interleaving: one transaction holds the user's lock with the record written, uncommitted.
    user = new_user("late-upsert")
    holder = psycopg2.connect(database_url)
    try:
        with holder.cursor() as cursor:
            from progress_tracking.store import upserting
            from progress_tracking.store.appending import Change

            upserting.upsert_logs(cursor, user, [item("hc", 5)], Change("holder", None), None)
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(logs.log_progress, database, users, MACHINE, post(user, "hc", 5, 80.0), None)
            assert wait_until(lambda: blocked_by(database_url, holder.get_backend_pid()))
            holder.commit()
            answered = waiting.result(timeout=10)
    finally:
        holder.close()
    assert (answered.outcome, answered.log.weight_kg) == ("unchanged", 70.0)
    assert len(live_logs(database, user)) == 1


@pytest.mark.parametrize("round_", range(10))
def test_concurrent_batches_and_single_writes_keep_every_rule(database, users, new_user, round_):
    # Eight writers at once for one user: batches and single POSTs naming the same ten records with versions 1..4,
    # plain new logs beside them. Every record ends as exactly one log, at the highest version sent, and each log's
    # events are consecutive versions.
    user = new_user("race")
    records = [f"rec-{n}" for n in range(10)]

    def batch(version: int) -> object:
        return upserts.upsert_batch(
            database, users, MACHINE, user,
            [item(r, version, 60 + version) for r in records] + [item(None, None, 50.0, day=2)], None,
        )  # fmt: skip

    def single(version: int) -> object:
        return [
            logs.log_progress(database, users, MACHINE, post(user, r, version, 60 + version), None) for r in records
        ]

    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(batch, v) for v in (1, 2, 3, 4)] + [pool.submit(single, v) for v in (4, 3, 2, 1)]
        for job in jobs:
            job.result(timeout=60)

    def read(cursor):
        cursor.execute(
            "SELECT r.client_record_id, r.client_version, l.weight_kg FROM progress_client_records AS r"
            " JOIN progress_logs AS l USING (log_id) WHERE r.user_id = %s ORDER BY 1",
            (user,),
        )
        return cursor.fetchall()

    assert database.run(read) == [(r, 4, 64.0) for r in records]
    assert len(live_logs(database, user)) == 10 + 4  # the records, and each batch's plain new log
    by_log: dict[int, list[int]] = {}
    for log_id, version, _ in events_of(database, user):
        by_log.setdefault(log_id, []).append(version)
    assert all(versions == list(range(1, len(versions) + 1)) for versions in by_log.values())
    # Every record reached version 4 once: one `logged` and at most three `updated` events each.
    assert all(len(versions) <= 4 for versions in by_log.values())


def test_a_batchs_projections_and_summary_are_what_single_writes_leave(database, users, new_user):
    from progress_tracking import summaries
    from progress_tracking.models.summary import SummaryQuery
    from progress_tracking.store import rebuild

    user = new_user("projections")
    deleted = logs.log_progress(database, users, MACHINE, post(user, "gone", 1, 90.0), None).log.log_id
    logs.log_progress(database, users, MACHINE, post(user, "kept", 1, 80.0), None)
    summaries.summarize(database, MACHINE, user, SummaryQuery())  # stored now: the batch must make it stale
    logs.delete_log(database, MACHINE, deleted, None)
    result = upserts.upsert_batch(
        database,
        users,
        MACHINE,
        user,
        [
            item("gone", 2, 91.0, day=3, workout_done="Rowing"),  # restored
            item("kept", 2, 81.0, day=2, workout_done="Running", calories_burned=300),  # updated
            item(None, None, 82.0, day=4, workout_done="Running"),  # created
        ],
        None,
    )
    assert [i.outcome for i in result.items] == ["restored", "updated", "created"]
    report = database.run(rebuild.compare_projection)
    ours = {i.log.log_id for i in result.items}
    assert not ours & set(report.missing + report.unexpected + report.different + report.states_differ)
    assert user not in report.facts_differ
    summary = summaries.summarize(database, MACHINE, user, SummaryQuery())
    assert (summary.log_count, summary.latest_weight_kg, summary.workouts) == (3, 82.0, {"running": 2, "rowing": 1})


# --- over HTTP, through the local gateway ---------------------------------------------------------------------------

BATCH = "/api/progress/logs/batch"


def record_body(user: str, record: str, version: int, weight: float = 70.0) -> dict[str, Any]:
    return {
        "user_id": user,
        "date": "2026-03-01",
        "weight_kg": weight,
        "source": "health-connect",
        "client_record_id": record,
        "client_version": version,
    }


def test_a_post_with_a_client_record_id_answers_201_then_200_with_the_outcome(api, tokens, new_user):
    user = new_user("http-upsert")
    token = tokens.user(user)
    created = api.call("POST", "/api/progress/log", token, json=record_body(user, "hc-9", 1))
    assert created.status_code == 201, created.text
    log_id = created.json()["id"]
    assert created.headers["Location"] == f"/api/progress/log/{log_id}"
    same = api.call("POST", "/api/progress/log", token, json=record_body(user, "hc-9", 1, 99.0))
    assert same.status_code == 200, same.text
    assert {k: same.json()[k] for k in ("id", "outcome", "deleted")} == {"id": log_id, "outcome": "unchanged",
                                                                          "deleted": False}  # fmt: skip
    assert same.json()["log"]["weight_kg"] == 70.0 and same.headers["ETag"] == '"1"'
    newer = api.call("POST", "/api/progress/log", token, json=record_body(user, "hc-9", 2, 71.0))
    assert (newer.status_code, newer.json()["outcome"], newer.json()["log"]["version"]) == (200, "updated", 2)
    assert api.call("DELETE", f"/api/progress/log/{log_id}", token).status_code == 200
    late = api.call("POST", "/api/progress/log", token, json=record_body(user, "hc-9", 2))
    assert (late.status_code, late.json()["outcome"], late.json()["deleted"]) == (200, "unchanged", True)
    assert api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"] == []


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"client_record_id": "x"}, "client_record_id and client_version go together"),
        ({"client_version": 1}, "client_record_id and client_version go together"),
        ({"client_record_id": "x" * 101, "client_version": 1}, "at most 100 characters"),
        ({"client_record_id": "bad\nid", "client_version": 1}, "should match pattern"),
        ({"client_record_id": "x", "client_version": -1}, "greater than or equal to 0"),
        ({"client_record_id": "x", "client_version": "1"}, "valid integer"),
        ({"source": "Health Connect"}, "should match pattern"),
    ],
)
def test_client_record_fields_out_of_their_rules_are_a_400_naming_them(api, tokens, new_user, fields, problem):
    user = new_user("http-rules")
    body = {"user_id": user, "date": "2026-03-01", "weight_kg": 70.0}
    response = api.call("POST", "/api/progress/log", tokens.user(user), json={**body, **fields})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_error"
    assert problem in response.text
    # The control: the same body without them is logged.
    assert api.call("POST", "/api/progress/log", tokens.user(user), json=body).status_code == 201


def test_a_batch_with_bad_items_lists_every_one_and_writes_nothing(api, tokens, new_user, database):
    user = new_user("http-batch")
    token = tokens.user(user)
    good = {"date": "2026-03-01", "weight_kg": 70.0}
    logs_ = [good, {**good, "weight_kg": 5000}, good, {"date": "2026-03-02"}, {**good, "colour": "red"}]
    refused = api.call("POST", BATCH, token, json={"user_id": user, "logs": logs_})
    assert refused.status_code == 400, refused.text
    assert [d["field"] for d in refused.json()["details"]] == ["logs.1.weight_kg", "logs.3", "logs.4.colour"]
    assert events_of(database, user) == []
    # The control: the good items alone are written, each answered in order.
    answered = api.call("POST", BATCH, token, json={"user_id": user, "logs": [good, good, good]})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["user_id"] == user and [r["index"] for r in body["results"]] == [0, 1, 2]
    assert {r["outcome"] for r in body["results"]} == {"created"}
    assert len(events_of(database, user)) == 3


def test_a_batch_refuses_a_repeated_record_too_many_logs_and_a_body_too_large(api, tokens, new_user):
    user = new_user("http-limits")
    token = tokens.user(user)
    one = {"date": "2026-03-01", "weight_kg": 70.0, "client_record_id": "r", "client_version": 1}
    twice = api.call("POST", BATCH, token, json={"user_id": user, "logs": [one, {**one, "client_version": 2}]})
    assert (twice.status_code, [d["field"] for d in twice.json()["details"]]) == (400, ["logs.1.client_record_id"])
    plain = {"date": "2026-03-01", "weight_kg": 70.0}
    too_many = api.call("POST", BATCH, token, json={"user_id": user, "logs": [plain] * 501})
    assert too_many.status_code == 400 and too_many.json()["details"][0]["field"] == "logs"
    large = {**plain, "notes": "n" * 2000, "workout_done": "w" * 200}
    too_large = api.call("POST", BATCH, token, json={"user_id": user, "logs": [large] * 500})
    assert (too_large.status_code, too_large.json()["code"]) == (413, "payload_too_large")
    # The controls: 500 logs, and a body above the single POST's 64 KiB, are accepted.
    full = api.call("POST", BATCH, token, json={"user_id": user, "logs": [{**plain, "notes": "n" * 200}] * 500})
    assert full.status_code == 200, full.text[:300]
    assert len(full.json()["results"]) == 500


def test_a_batch_for_another_user_or_without_the_write_scope_is_refused(api, tokens, new_user):
    user, other = new_user("http-owner"), new_user("http-owner")
    body = {"user_id": other, "logs": [{"date": "2026-03-01", "weight_kg": 70.0}]}
    assert api.call("POST", BATCH, tokens.user(user), json=body).json()["code"] == "forbidden"
    read_only = api.call("POST", BATCH, tokens.user(other, scope="read:progress"), json=body)
    assert read_only.json()["code"] == "insufficient_scope"
    assert api.call("POST", BATCH, tokens.user(other), json=body).status_code == 200  # the control
    # A machine token may write for any user.
    assert api.call("POST", BATCH, tokens.client(), json={**body, "user_id": user}).status_code == 200


def test_a_batch_with_an_idempotency_key_replays_its_answer(api, tokens, new_user, database):
    user = new_user("http-key")
    token = tokens.user(user)
    body = {"user_id": user, "logs": [{"date": "2026-03-01", "weight_kg": 70.0}]}
    key = {"Idempotency-Key": f"batch-{user}"}
    first = api.call("POST", BATCH, token, json=body, headers=key)
    again = api.call("POST", BATCH, token, json=body, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(events_of(database, user)) == 1
    other = api.call("POST", BATCH, token, json={**body, "logs": body["logs"] * 2}, headers=key)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def _stored_state(cursor, log_id):
    cursor.execute("SELECT weight_lb::text, weight_kg, source, device FROM progress_logs WHERE log_id = %s", (log_id,))
    return cursor.fetchone()


def _event_data(cursor, log_id):
    cursor.execute("SELECT data FROM progress_events WHERE log_id = %s ORDER BY version", (log_id,))
    return [row[0] for row in cursor.fetchall()]


def test_a_batch_in_pounds_and_kilograms_from_two_sources_stores_each_as_a_post_does(api, tokens, new_user, database):
    from progress_tracking.store import rebuild
    from progress_tracking.units import KG_PER_POUND

    user = new_user("http-units")
    token = tokens.user(user)
    pounds = {"date": "2026-03-01", "weight_lb": 170.2, "source": "withings", "device": "Body+ scale",
              "client_record_id": "w-1", "client_version": 4}  # fmt: skip
    kilos = {"date": "2026-03-02", "weight_kg": 80.5, "source": "health-connect", "client_record_id": "hc-1",
             "client_version": 1}  # fmt: skip
    plain = {"date": "2026-03-03", "weight_lb": 165.3, "workout_done": "Running"}  # manual, no id
    first = api.call("POST", BATCH, token, json={"user_id": user, "logs": [pounds, kilos, plain]})
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [(r["index"], r["outcome"], r["version"]) for r in results] == [(0, "created", 1), (1, "created", 1),
                                                                           (2, "created", 1)]  # fmt: skip
    ids = [r["log_id"] for r in results]

    # Stored as a POST stores them: the pounds exactly as entered beside the kg, the source, the device.
    stored = [database.single(lambda cursor, log_id=log_id: _stored_state(cursor, log_id)) for log_id in ids]
    assert stored == [
        ("170.2", 170.2 * KG_PER_POUND, "withings", "Body+ scale"),
        (None, 80.5, "health-connect", None),
        ("165.3", 165.3 * KG_PER_POUND, "manual", None),
    ]
    # lb in, lb out: the list in imperial units answers the pounds as sent, the kg log converted.
    imperial = api.call("GET", f"/api/progress/{user}", token, params={"units": "imperial"}).json()["progress_logs"]
    by_id = {entry["log_id"]: entry for entry in imperial}
    assert [(by_id[i].get("weight_lb"), by_id[i]["weight_unit"], by_id[i]["source"]) for i in ids] == [
        (170.2, "lb", "withings"),
        (round(80.5 / KG_PER_POUND, 2), "kg", "health-connect"),
        (165.3, "lb", "manual"),
    ]
    metric = {
        entry["log_id"]: entry for entry in api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
    }
    assert metric[ids[1]]["weight_kg"] == 80.5 and metric[ids[1]]["device"] is None

    # The events' data is a plain POST's (appending.event_data), plus the record's id and version.
    control = api.call("POST", "/api/progress/log", token, json={"user_id": user, **plain})
    assert control.status_code == 201, control.text
    control_data = database.single(lambda cursor: _event_data(cursor, control.json()["id"]))
    assert database.single(lambda cursor: _event_data(cursor, ids[2])) == control_data
    batch_data = database.single(lambda cursor: _event_data(cursor, ids[0]))
    assert batch_data == [
        {"date": "2026-03-01", "weight_kg": 170.2 * KG_PER_POUND, "weight_lb": 170.2, "weight_unit": "lb",
         "workout_done": None, "calories_burned": None, "notes": None, "source": "withings", "device": "Body+ scale",
         "client_record_id": "w-1", "client_version": 4}
    ]  # fmt: skip

    # Re-sent at the same versions: unchanged, nothing written; the single POST's answer shows the log in pounds.
    again = api.call("POST", BATCH, token, json={"user_id": user, "logs": [pounds, kilos]})
    assert [(r["outcome"], r["log_id"], r["version"]) for r in again.json()["results"]] == [
        ("unchanged", ids[0], 1),
        ("unchanged", ids[1], 1),
    ]
    single = api.call("POST", "/api/progress/log", token, json={"user_id": user, **pounds})
    assert (single.status_code, single.json()["outcome"]) == (200, "unchanged")
    answered = single.json()["log"]
    assert (answered["weight_lb"], answered["weight_unit"], answered["source"], answered["device"]) == (
        170.2, "lb", "withings", "Body+ scale")  # fmt: skip
    assert "weight_kg" not in answered
    assert len(events_of(database, user)) == 4  # three from the batch, one from the control POST

    # A higher version in kg replaces the pounds (as a PUT in kg does), and keeps the record's source.
    both = {**pounds, "weight_lb": None, "weight_kg": 77.0, "client_version": 5}
    refused = api.call("POST", BATCH, token, json={"user_id": user, "logs": [both]})
    assert refused.status_code == 400  # both weights named (one of them null) is refused, as on a POST
    in_kilograms = {name: value for name, value in both.items() if name != "weight_lb"}
    newer = api.call("POST", BATCH, token, json={"user_id": user, "logs": [in_kilograms]})
    assert newer.json()["results"][0]["outcome"] == "updated"
    assert database.single(lambda cursor: _stored_state(cursor, ids[0])) == (None, 77.0, "withings", "Body+ scale")
    # The projections are what the events fold to (the rebuild's comparison).
    report = database.run(rebuild.compare_projection)
    assert not set(ids) & set(report.missing + report.unexpected + report.different + report.states_differ)
    assert user not in report.facts_differ


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"weight_lb": 1433.5}, "logs.0.weight_lb"),
        ({"weight_lb": 4.4}, "logs.0.weight_lb"),
        ({"weight_kg": 70.0, "weight_lb": 154.3}, "logs.0"),
        ({"source": "with_ings"}, "logs.0.source"),
        ({"device": " "}, "logs.0.device"),
    ],
)
def test_a_batch_item_keeps_a_posts_unit_and_source_rules(api, tokens, new_user, database, fields, field):
    user = new_user("http-item-rules")
    token = tokens.user(user)
    item_body = {"date": "2026-03-01", "weight_lb": 170.2, **fields}
    refused = api.call("POST", BATCH, token, json={"user_id": user, "logs": [item_body]})
    assert refused.status_code == 400, refused.text
    item_problems = {detail["field"]: detail["message"] for detail in refused.json()["details"]}
    assert field in item_problems
    # A single POST of the same log is refused with the same message (named without the batch's place).
    post_refused = api.call("POST", "/api/progress/log", token, json={"user_id": user, **item_body})
    assert post_refused.status_code == 400
    assert item_problems[field] in [detail["message"] for detail in post_refused.json()["details"]]
    assert events_of(database, user) == []
    # The positive control: an item at the bounds, with a source and device within their rules, is written.
    control = {"date": "2026-03-01", "weight_lb": 1433, "source": "with-ings", "device": "Body+"}
    assert api.call("POST", BATCH, token, json={"user_id": user, "logs": [control]}).status_code == 200
