"""The outbox relay on a real Postgres, publishing to moto's EventBridge: a rule on the bus with an SQS target receives
exactly what a consumer would. Never-skip, at-least-once with stable ids, partial failures, erasure."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import boto3
import psycopg2
import pytest
from moto import mock_aws

from progress_tracking import logs, outbox
from progress_tracking.db import Database
from progress_tracking.store import appending, checkpoints, erasure, relay_log
from tests.helpers import MACHINE, tombstones

BUS = "default"
# The cluster-wide horizon may be held back for a while by other databases' open transactions (a shared CI
# Postgres): the relay is run again until what must be published is, within this bound.
PATIENCE_SECONDS = 60


class Bus:
    """moto's EventBridge with a rule that sends every progress-tracking event to an SQS queue."""

    def __init__(self) -> None:
        self.events = boto3.client("events")
        self.sqs = boto3.client("sqs")
        self.queue_url = self.sqs.create_queue(QueueName="progress-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.events.put_rule(Name="all-progress", EventPattern=json.dumps({"source": ["progress-tracking"]}))
        self.events.put_targets(Rule="all-progress", Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}])
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        """Every event the queue received so far (as EventBridge delivers them), in arrival order."""
        while messages := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return self.received

    def of(self, *users: str) -> list[tuple[str, str, str]]:
        """(detail-type, user_id, event_id) of the received events that concern these users, in arrival order."""
        return [
            (event["detail-type"], event["detail"]["user_id"], event["detail"]["event_id"])
            for event in self.drain()
            if event["detail"]["user_id"] in users
        ]


@pytest.fixture
def bus(monkeypatch) -> Iterator[Bus]:
    # moto's EventBridge rules need moto[events] (jsonpath-ng): a venv older than requirements-dev.txt lacks it.
    assert importlib.util.find_spec("jsonpath_ng"), "moto[events] is missing: pip install -r requirements-dev.txt"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield Bus()


@pytest.fixture
def relay_name(database: Database) -> Iterator[str]:
    """A relay of this test's own, starting at the end of the log (so it publishes only what the test does)."""
    name = f"outbox-test-{uuid.uuid4().hex[:10]}"
    outbox.start_at_end(database, name)
    yield name

    def forget(cursor):
        cursor.execute("DELETE FROM projector_checkpoints WHERE name = %s", (name,))

    database.run(forget)


def run_relay(database: Database, client: Any, name: str, **kwargs: Any) -> outbox.RelayReport:
    return outbox.relay(database, client, BUS, lambda: 600_000, name=name, sleep=lambda _: None, **kwargs)


def relay_until(database: Database, client: Any, name: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        run_relay(database, client, name)
        if done():
            return
        assert time.monotonic() < deadline, "the relay did not publish what it should have"
        time.sleep(0.05)


def add_log(database: Database, user_id: str, weight: float = 70.0) -> int:
    change = appending.Change(actor="t", request_id="req-1")
    fields = {"date": date(2026, 2, 1), "weight_kg": weight}
    return database.run(lambda cursor: appending.log_new(cursor, user_id, fields, change)).log_id


def positions_of(database: Database, user_id: str) -> list[str]:
    def work(cursor):
        cursor.execute("SELECT position FROM progress_events WHERE user_id = %s ORDER BY position", (user_id,))
        return [str(row[0]) for row in cursor.fetchall()]

    return database.run(work)


def stream_positions_of(database: Database, user_id: str) -> list[int]:
    def work(cursor):
        cursor.execute(
            "SELECT stream_position FROM progress_events WHERE user_id = %s ORDER BY stream_position", (user_id,)
        )
        return [row[0] for row in cursor.fetchall()]

    return database.run(work)


def user() -> str:
    return f"outbox-{uuid.uuid4().hex[:10]}"


# --- the events and their shape, end to end ---------------------------------------------------------------------


def test_every_kind_of_change_arrives_on_the_bus_once_with_its_stable_id(database, bus, relay_name):
    alice = user()
    log_id = add_log(database, alice, 80.0)
    change = appending.Change(actor="t", request_id="req-2")
    database.run(lambda c: appending.update(c, appending.lock_log(c, log_id), {"weight_kg": 79.5}, change))
    database.run(lambda c: appending.delete(c, appending.lock_log(c, log_id), change))
    database.run(
        lambda c: appending.restore(c, appending.lock_history(c, log_id), appending.log_events(c, log_id)[0], change)
    )

    relay_until(database, bus.events, relay_name, lambda: len(bus.of(alice)) == 4)
    received = [event for event in bus.drain() if event["detail"]["user_id"] == alice]
    assert [event["detail-type"] for event in received] == [
        "ProgressLogged",
        "ProgressUpdated",
        "ProgressDeleted",
        "ProgressRestored",
    ]
    assert [event["detail"]["event_id"] for event in received] == positions_of(database, alice)
    assert {event["source"] for event in received} == {"progress-tracking"}
    logged, updated, deleted, restored = (event["detail"] for event in received)
    assert set(logged) == {
        "event_id",
        "stream_position",
        "log_id",
        "user_id",
        "version",
        "occurred_at",
        "request_id",
        "log",
    }
    assert logged["log"] == {
        "date": "2026-02-01",
        "weight_kg": 80.0,
        "workout_done": None,
        "calories_burned": None,
        "notes": None,
        "weight_lb": None,
        "weight_unit": "kg",
        "source": "manual",
        "device": None,
    }
    assert (logged["log_id"], logged["version"], logged["request_id"]) == (log_id, 1, "req-1")
    assert (updated["version"], updated["log"]["weight_kg"]) == (2, 79.5)
    assert (deleted["version"], deleted["log"]["weight_kg"]) == (3, 79.5)  # the state that was deleted
    assert (restored["version"], restored["log"]["weight_kg"]) == (4, 80.0)
    assert logged["occurred_at"].endswith("Z")
    assert [event["detail"]["stream_position"] for event in received] == stream_positions_of(database, alice)
    # Caught up: another run publishes nothing more.
    run_relay(database, bus.events, relay_name)
    assert len(bus.of(alice)) == 4


def test_requests_hold_at_most_ten_entries_and_256_kb():
    def entry(detail_bytes: int) -> dict[str, Any]:
        return {"Source": "progress-tracking", "DetailType": "ProgressLogged", "Detail": "x" * detail_bytes}

    assert [len(chunk) for chunk in outbox.requests([entry(100)] * 25)] == [10, 10, 5]
    big = [entry(100_000)] * 5  # three of them would pass 256 KB
    chunks = list(outbox.requests(big))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert all(sum(outbox.domain_events.entry_size(e) for e in chunk) <= 256 * 1024 for chunk in chunks)
    with pytest.raises(ValueError, match="over EventBridge's limit"):
        list(outbox.requests([entry(300_000)]))


def test_a_batch_of_many_events_goes_out_in_requests_of_ten(database, bus, relay_name):
    sizes: list[int] = []

    class Counting:
        def put_events(self, *, Entries):  # noqa: N803
            sizes.append(len(Entries))
            return bus.events.put_events(Entries=Entries)

    bob = user()
    for n in range(23):
        add_log(database, bob, 60.0 + n)
    relay_until(database, Counting(), relay_name, lambda: len(bus.of(bob)) == 23)
    assert max(sizes) == 10 and sum(sizes) >= 23
    assert [event_id for _, _, event_id in bus.of(bob)] == positions_of(database, bob)


# --- never skip, never lose ---------------------------------------------------------------------------------------


def append_in_open_transaction(database_url: str, user_id: str):
    connection = psycopg2.connect(database_url)
    cursor = connection.cursor()
    change = appending.Change(actor="t", request_id=None)
    appending.log_new(cursor, user_id, {"date": date(2026, 1, 1), "weight_kg": 70.0}, change)
    return connection


def test_a_write_that_commits_late_is_published_once_and_in_order(database, database_url, bus, relay_name):
    early_user, late_user = user(), user()
    # Given: transaction A appends first (lower position) and is still open while B appends and commits.
    early = append_in_open_transaction(database_url, early_user)
    late = append_in_open_transaction(database_url, late_user)
    late.commit()
    # Then the relay publishes neither: B sorts after A, which is still running.
    for _ in range(3):
        run_relay(database, bus.events, relay_name)
    assert bus.of(early_user, late_user) == []

    early.commit()
    relay_until(database, bus.events, relay_name, lambda: len(bus.of(early_user, late_user)) == 2)
    for _ in range(2):
        run_relay(database, bus.events, relay_name)
    published = bus.of(early_user, late_user)
    assert [user_id for _, user_id, _ in published] == [early_user, late_user]  # once each, in commit order
    assert [event_id for _, _, event_id in published] == positions_of(database, early_user) + positions_of(
        database, late_user
    )
    early.close()
    late.close()


class Killed(BaseException):
    """The container dies (timeout, crash): nothing after this point runs, the transaction is rolled back."""


def test_a_relay_killed_between_put_events_and_its_checkpoint_publishes_again_with_the_same_ids(
    database, bus, relay_name, monkeypatch
):
    carol = user()
    add_log(database, carol)
    add_log(database, carol)
    checkpoint_before = database.run(lambda cursor: checkpoints.read_checkpoint(cursor, relay_name))

    def killed(*args, **kwargs):
        raise Killed()

    with monkeypatch.context() as patched:
        patched.setattr(outbox.checkpoints, "save_checkpoint", killed)
        deadline = time.monotonic() + PATIENCE_SECONDS
        while len(bus.of(carol)) < 2:  # until the batch with carol's events has been put, then the relay died
            with contextlib.suppress(Killed):
                run_relay(database, bus.events, relay_name)
            assert time.monotonic() < deadline
    first = bus.of(carol)
    assert len(first) == 2
    assert database.run(lambda cursor: checkpoints.read_checkpoint(cursor, relay_name)) == checkpoint_before

    relay_until(database, bus.events, relay_name, lambda: len(bus.of(carol)) >= 4)
    again = bus.of(carol)[2:]
    assert again == first  # republished: duplicates, with the same ids
    run_relay(database, bus.events, relay_name)  # the checkpoint moved this time: no third copy
    assert len(bus.of(carol)) == 4


class Refusing:
    """moto's client, except that PutEvents refuses the entries of some event ids a number of times (moto does not
    simulate partial failures); the rest go to moto for real."""

    def __init__(self, client: Any, refuse: dict[str, int]) -> None:
        self.client = client
        self.refuse = refuse

    def put_events(self, *, Entries):  # noqa: N803
        results: list[dict[str, Any] | None] = []
        accepted = []
        for entry in Entries:
            event_id = json.loads(entry["Detail"])["event_id"]
            if self.refuse.get(event_id, 0) > 0:
                self.refuse[event_id] -= 1
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                accepted.append(entry)
                results.append(None)
        answers = iter(self.client.put_events(Entries=accepted)["Entries"] if accepted else [])
        entries = [result if result is not None else next(answers) for result in results]
        return {"FailedEntryCount": sum("ErrorCode" in entry for entry in entries), "Entries": entries}


def test_an_entry_put_events_refuses_for_a_while_is_retried_and_published(database, bus, relay_name):
    dave = user()
    for _ in range(3):
        add_log(database, dave)
    first, second, third = positions_of(database, dave)
    client = Refusing(bus.events, {second: 2})  # refused twice, taken on the third attempt
    relay_until(database, client, relay_name, lambda: len(bus.of(dave)) == 3)
    assert client.refuse[second] == 0
    assert sorted(event_id for _, _, event_id in bus.of(dave)) == sorted([first, second, third])


def test_the_checkpoint_never_passes_an_entry_put_events_keeps_refusing(database, bus, relay_name):
    erin = user()
    for _ in range(3):
        add_log(database, erin)
    first, second, third = positions_of(database, erin)
    client = Refusing(bus.events, {second: outbox.ATTEMPTS})  # refused on every attempt of one run
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        report = run_relay(database, client, relay_name)
        if report.failed:
            break
        assert time.monotonic() < deadline
    assert report.failed == 2 and not report.finished  # the refused entry and the one after it are left
    published = [event_id for _, _, event_id in bus.of(erin)]
    assert second not in published and first in published
    checkpoint = database.run(lambda cursor: checkpoints.read_checkpoint(cursor, relay_name))
    assert checkpoint.position == stream_positions_of(database, erin)[0]  # stopped just before the refused entry

    # EventBridge takes it again: the next run publishes it (and what follows it, perhaps a second time).
    relay_until(database, client, relay_name, lambda: second in [event_id for _, _, event_id in bus.of(erin)])
    published = [event_id for _, _, event_id in bus.of(erin)]
    assert published.count(second) == 1 and published.count(first) == 1
    assert {first, second, third} <= set(published)


# --- erasure ------------------------------------------------------------------------------------------------------


def erase(database: Database, user_id: str) -> dict[str, int]:
    return logs.erase_user(database, MACHINE, user_id)


def test_erasure_publishes_user_progress_erased_and_nothing_of_the_user_after_it(database, bus, relay_name):
    frank, grace = user(), user()
    add_log(database, frank)
    relay_until(database, bus.events, relay_name, lambda: len(bus.of(frank)) == 1)
    add_log(database, frank)  # committed, not yet published when the erasure comes
    add_log(database, grace)
    erased = erase(database, frank)
    assert erased["events"] == 2
    assert tombstones(database, frank) == 1

    relay_until(database, bus.events, relay_name, lambda: len(bus.of(frank)) == 2 and len(bus.of(grace)) == 1)
    for _ in range(2):
        run_relay(database, bus.events, relay_name)
    kinds = [kind for kind, _, _ in bus.of(frank)]
    assert kinds == ["ProgressLogged", "UserProgressErased"]  # the unpublished log went with the erasure
    erased_event = next(event for event in bus.drain() if event["detail-type"] == "UserProgressErased")
    # The user id only (and the event's id and place in the user's stream: after every event of theirs).
    assert set(erased_event["detail"]) == {"event_id", "stream_position", "user_id"}
    frank_positions = [
        event["detail"]["stream_position"] for event in bus.drain() if event["detail"]["user_id"] == frank
    ]
    assert frank_positions == sorted(frank_positions)
    assert [kind for kind, _, _ in bus.of(grace)] == ["ProgressLogged"]  # other users are untouched
    # Published by every relay that follows the log: the user's id does not stay behind.
    assert tombstones(database, frank) == 0 or any(
        name != relay_name for name in checkpoint_names(database)
    )  # (another relay of this run, e.g. the local app's, may still have to publish it)

    # A second erasure finds nothing: no second event.
    assert not any(erase(database, frank).values())
    assert tombstones(database, frank) == 0 or any(name != relay_name for name in checkpoint_names(database))
    run_relay(database, bus.events, relay_name)
    assert [kind for kind, _, _ in bus.of(frank)] == ["ProgressLogged", "UserProgressErased"]


def checkpoint_names(database: Database) -> list[str]:
    def work(cursor):
        cursor.execute("SELECT name FROM projector_checkpoints WHERE name LIKE 'outbox%%'")
        return [row[0] for row in cursor.fetchall()]

    return database.run(work)


def erase_in_open_transaction(database_url: str, user_id: str):
    connection = psycopg2.connect(database_url)
    cursor = connection.cursor()
    erasure.erase_user(cursor, user_id)
    return connection


def relay_waits_for_a_gate(database: Database) -> bool:
    def work(cursor):
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s"
            " AND objsubid = 2",
            (relay_log.ERASURE_GATE_CLASS,),
        )
        return cursor.fetchone()[0] > 0

    return database.run(work)


def test_a_batch_read_just_before_an_erasure_commits_drops_the_erased_users_events(
    database, database_url, bus, relay_name
):
    heidi, ivan = user(), user()
    add_log(database, heidi)
    add_log(database, ivan)
    # Given: the erasure has deleted heidi's events and holds her gate, not yet committed; the relay reads its batch
    # (the deletion is not visible to it yet) and must wait at her gate.
    erasing = erase_in_open_transaction(database_url, heidi)
    reports: list[outbox.RelayReport] = []
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        relay = threading.Thread(target=lambda: reports.append(run_relay(database, bus.events, relay_name)))
        relay.start()
        while relay.is_alive() and not relay_waits_for_a_gate(database):
            relay.join(0.02)
        if relay.is_alive():
            break  # waiting at the gate, with heidi's events in its batch
        assert time.monotonic() < deadline, "the relay never read the batch (horizon held back)"
    erasing.commit()
    relay.join()
    erasing.close()
    # Then: heidi's events were dropped, ivan's (same batch) published; her erasure follows.
    assert reports[-1].dropped >= 1
    relay_until(database, bus.events, relay_name, lambda: len(bus.of(heidi, ivan)) == 2)
    assert [(kind, user_id) for kind, user_id, _ in bus.of(heidi, ivan)] == [
        ("ProgressLogged", ivan),
        ("UserProgressErased", heidi),
    ]


def test_an_erasure_that_starts_while_a_batch_is_being_published_commits_after_it(
    database, database_url, bus, relay_name
):
    judy = user()
    add_log(database, judy)
    finished: list[dict[str, int]] = []
    eraser: list[threading.Thread] = []

    class EraseMeanwhile:
        """While the relay's PutEvents for judy's event is in flight, her erasure starts and must wait for it."""

        def put_events(self, *, Entries):  # noqa: N803
            if not eraser and any(json.loads(entry["Detail"])["user_id"] == judy for entry in Entries):
                thread = threading.Thread(target=lambda: finished.append(erase(Database(database_url), judy)))
                eraser.append(thread)
                thread.start()
                while not relay_waits_for_a_gate(database):  # the erasure waits at judy's gate
                    assert thread.is_alive()
                    time.sleep(0.01)
                assert not finished
            return bus.events.put_events(Entries=Entries)

    relay_until(database, EraseMeanwhile(), relay_name, lambda: len(bus.of(judy)) >= 1)
    eraser[0].join()
    assert finished[0]["events"] == 1  # the erasure ran once the relay committed
    relay_until(database, bus.events, relay_name, lambda: len(bus.of(judy)) == 2)
    assert [kind for kind, _, _ in bus.of(judy)] == ["ProgressLogged", "UserProgressErased"]


def test_a_batch_upserts_events_arrive_in_the_items_order_like_single_writes(
    database, bus, relay_name, new_user, user_profile
):
    from progress_tracking import upserts
    from progress_tracking.models.log import LogItem
    from progress_tracking.user_service import UserServiceClient

    alice = new_user("outbox-batch")
    users = UserServiceClient(user_profile.base_url)
    records = [
        {"date": "2026-02-01", "weight_kg": 80.0, "client_record_id": "a", "client_version": 1},
        {"date": "2026-02-02", "weight_kg": 81.0, "client_record_id": "b", "client_version": 1},
    ]
    deleted = upserts.upsert_batch(database, users, MACHINE, alice, [LogItem.model_validate(r) for r in records], None)
    logs.delete_log(database, MACHINE, deleted.items[1].log.log_id, None)
    again = [
        {"date": "2026-02-03", "weight_kg": 82.0},  # created
        {**records[0], "client_version": 2},  # updated
        {**records[0], "client_version": 1},  # sent once more below, alone: unchanged, nothing published
        {**records[1], "client_version": 2},  # restored (its log was deleted)
    ]
    written = upserts.upsert_batch(
        database, users, MACHINE, alice, [LogItem.model_validate(r) for r in [again[0], again[1], again[3]]], None
    )
    assert [item.outcome for item in written.items] == ["created", "updated", "restored"]
    unchanged = upserts.upsert_batch(database, users, MACHINE, alice, [LogItem.model_validate(again[2])], None)
    assert unchanged.items[0].outcome == "unchanged"  # nothing to publish

    relay_until(database, bus.events, relay_name, lambda: len(bus.of(alice)) == 6)
    received = [event["detail"] for event in bus.drain() if event["detail"]["user_id"] == alice]
    assert [(d["log"]["weight_kg"]) for d in received] == [80.0, 81.0, 81.0, 82.0, 80.0, 81.0]
    assert [event for event in bus.of(alice)][3:] == [
        ("ProgressLogged", alice, received[3]["event_id"]),
        ("ProgressUpdated", alice, received[4]["event_id"]),
        ("ProgressRestored", alice, received[5]["event_id"]),
    ]
    assert [d["stream_position"] for d in received] == stream_positions_of(database, alice)
