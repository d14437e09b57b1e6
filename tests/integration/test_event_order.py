"""Domain events leave in each user's commit order: every event carries the user's stream position, and the relay
publishes a user's events in that order within and across its batches, erasures included, whatever the order of the
transaction ids (a transaction gets its id before it waits for the user's lock)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import psycopg2
import pytest

from localdev.databases import scratch_database
from progress_tracking import logs, outbox
from progress_tracking.db import Database, one_row
from progress_tracking.errors import ProgressError
from progress_tracking.migrations import available_migrations, migrate
from progress_tracking.models.log import LogCreate, LogUpdate
from progress_tracking.store import appending, checkpoints
from progress_tracking.user_service import UserServiceClient
from tests.helpers import MACHINE, wait_for_the_horizon

BUS = "default"
PATIENCE_SECONDS = 60


class Sink:
    """A PutEvents client that takes every entry and keeps them as they arrived: what a consumer receives, in the
    order the relay published them."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        with self._lock:
            self.received += [(entry["DetailType"], json.loads(entry["Detail"])) for entry in Entries]
        return {"FailedEntryCount": 0, "Entries": [{"EventId": uuid.uuid4().hex} for _ in Entries]}

    def of(self, user: str) -> list[tuple[str, dict[str, Any]]]:
        """The user's events as a consumer keeps them: in arrival order, a repeated event_id dropped."""
        seen: set[str] = set()
        kept = []
        with self._lock:
            received = list(self.received)
        for kind, detail in received:
            if detail["user_id"] == user and detail["event_id"] not in seen:
                seen.add(detail["event_id"])
                kept.append((kind, detail))
        return kept


@pytest.fixture
def relay_name(database: Database):
    name = f"outbox-order-{uuid.uuid4().hex[:10]}"
    outbox.start_at_end(database, name)
    yield name

    def forget(cursor):
        cursor.execute("DELETE FROM projector_checkpoints WHERE name = %s", (name,))

    database.run(forget)


def run_relay(database: Database, sink: Sink, name: str, batch_size: int = outbox.BATCH_SIZE) -> None:
    outbox.relay(database, sink, BUS, lambda: 600_000, name=name, batch_size=batch_size, sleep=lambda _: None)


def relay_until(database: Database, sink: Sink, name: str, done: Callable[[], bool], batch_size: int = 100) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not done():
        run_relay(database, sink, name, batch_size)
        assert time.monotonic() < deadline, "the relay did not publish what it should have"
        time.sleep(0.02)


def assert_in_each_users_order(events: list[tuple[str, dict[str, Any]]]) -> None:
    """A consumer's view of one user: each log's versions only grow; every event of a log that an erasure did not
    take comes after that erasure; and the user's stream positions only grow."""
    versions: dict[int, list[int]] = defaultdict(list)
    for kind, detail in events:
        if kind != "UserProgressErased":
            versions[detail["log_id"]].append(detail["version"])
    for log_id, seen in versions.items():
        assert seen == sorted(seen), f"log {log_id}'s versions arrived as {seen}"
    positions = [detail.get("stream_position") for _, detail in events]
    assert all(isinstance(position, int) for position in positions), "an event without its stream position"
    assert positions == sorted(positions), f"stream positions arrived as {positions}"


def versions_of(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, int | None]]:
    return [(kind, detail.get("version")) for kind, detail in events]


def fresh_user(user_profile) -> str:
    user = f"order-{uuid.uuid4().hex[:10]}"
    user_profile.known.add(user)
    return user


def entry(user: str, day: int = 1) -> LogCreate:
    return LogCreate.model_validate({"user_id": user, "date": date(2026, 1, day), "weight_kg": 70.0})


@pytest.fixture
def open_transaction(database_url: str):
    """Opens transactions that take their id at once (and so hold the server's horizon below it) and stay open until
    committed; any left open are closed when the test ends."""
    opened: list[psycopg2.extensions.connection] = []

    def open_one() -> psycopg2.extensions.connection:
        connection = psycopg2.connect(database_url)
        connection.cursor().execute("SELECT pg_current_xact_id()")
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.close()


# --- a deterministic interleaving: the horizon splits a user's events ----------------------------------------------


def test_a_write_whose_transaction_id_is_older_than_the_write_it_waited_for_is_published_after_it(
    database, open_transaction, user_profile, relay_name
):
    sink = Sink()
    users = UserServiceClient(user_profile.base_url)
    user = fresh_user(user_profile)
    log_id = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id
    relay_until(database, sink, relay_name, lambda: len(sink.of(user)) == 1)
    # Given: transaction A takes its id; then B takes one and stays open, holding the horizon between them; then a
    # write C of the user (version 2) commits; then A writes the user's log (version 3: it had to come after C).
    late = open_transaction()
    holder = open_transaction()
    logs.update_log(database, MACHINE, log_id, LogUpdate(notes="C"), None)
    late_cursor = late.cursor()
    locked = appending.lock_log(late_cursor, log_id)
    appending.update(late_cursor, locked, {"notes": "A"}, appending.Change(actor="A", request_id=None))
    late.commit()
    # When: the relay runs while B is open (A's transaction id is below the horizon, C's is not).
    for _ in range(3):
        run_relay(database, sink, relay_name)
        assert versions_of(sink.of(user)) == [("ProgressLogged", 1)], "published ahead of the version it followed"
    # Then: neither is published before C; once B ends, C and then A.
    holder.commit()
    relay_until(database, sink, relay_name, lambda: len(sink.of(user)) == 3)
    assert versions_of(sink.of(user)) == [("ProgressLogged", 1), ("ProgressUpdated", 2), ("ProgressUpdated", 3)]
    assert_in_each_users_order(sink.of(user))


def test_a_log_written_after_an_erasure_by_a_transaction_with_an_older_id_is_published_after_the_erasure(
    database, open_transaction, user_profile, relay_name
):
    sink = Sink()
    users = UserServiceClient(user_profile.base_url)
    user = fresh_user(user_profile)
    logs.log_progress(database, users, MACHINE, entry(user), None)
    relay_until(database, sink, relay_name, lambda: len(sink.of(user)) == 1)
    # Given: A takes its id, B takes one and stays open, the user is erased (committed), then A logs for the same id.
    late = open_transaction()
    holder = open_transaction()
    assert logs.erase_user(database, MACHINE, user)["events"] == 1
    appending.log_new(late.cursor(), user, {"date": date(2026, 2, 1), "weight_kg": 60.0}, appending.Change("A", None))
    late.commit()
    for _ in range(3):
        run_relay(database, sink, relay_name)
        assert [kind for kind, _ in sink.of(user)] in (["ProgressLogged"], ["ProgressLogged", "UserProgressErased"])
    holder.commit()
    relay_until(database, sink, relay_name, lambda: len(sink.of(user)) == 3)
    # Then: the erasure, and only after it the log written after it.
    assert [kind for kind, _ in sink.of(user)] == ["ProgressLogged", "UserProgressErased", "ProgressLogged"]
    assert_in_each_users_order(sink.of(user))
    logs.erase_user(database, MACHINE, user)


# --- concurrent writers and erasures, many rounds ------------------------------------------------------------------

ROUNDS = 20
WRITERS = 8
UPDATES_EACH = 6


def attempt(work: Callable[[], object]) -> None:
    with contextlib.suppress(ProgressError):  # a log the erasure took: 404, nothing written
        work()


def test_concurrent_writers_and_erasures_arrive_in_each_users_order(database, user_profile, relay_name):
    sink = Sink()
    users = UserServiceClient(user_profile.base_url)
    stop = threading.Event()

    def relay_all_along() -> None:  # publishes while the writes happen, in small batches
        while not stop.is_set():
            run_relay(database, sink, relay_name, batch_size=7)

    relaying = threading.Thread(target=relay_all_along)
    relaying.start()
    round_users = []
    try:
        for round_number in range(ROUNDS):
            user = fresh_user(user_profile)
            round_users.append(user)
            log_id = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id

            def update(n: int, log_id: int = log_id) -> None:
                for k in range(UPDATES_EACH):
                    attempt(lambda: logs.update_log(database, MACHINE, log_id, LogUpdate(notes=f"{n}.{k}"), None))

            def post(user: str = user) -> None:
                for day in range(2, 5):
                    attempt(lambda day=day: logs.log_progress(database, users, MACHINE, entry(user, day), None))

            def erase(user: str = user) -> None:
                time.sleep(0.01)
                logs.erase_user(database, MACHINE, user)

            work: list[Callable[[], None]] = [lambda n=n: update(n) for n in range(WRITERS)] + [post, post]
            if round_number % 2:  # every other round, an erasure in the middle of it all
                work.append(erase)
            start = threading.Barrier(len(work))

            def run(job: Callable[[], None], start: threading.Barrier = start) -> None:
                start.wait()
                job()

            with ThreadPoolExecutor(len(work)) as pool:
                list(pool.map(run, work))
    finally:
        stop.set()
        relaying.join()

    def still_there(cursor) -> set[str]:
        cursor.execute("SELECT position FROM progress_events WHERE user_id = ANY(%s)", (round_users,))
        return {str(row[0]) for row in cursor.fetchall()}

    expected = database.run(still_there)
    relay_until(
        database, sink, relay_name, lambda: expected <= {d["event_id"] for u in round_users for _, d in sink.of(u)}
    )
    run_relay(database, sink, relay_name)
    for user in round_users:
        assert_in_each_users_order(sink.of(user))
        logs.erase_user(database, MACHINE, user)


# --- the migration: events written before it keep the order they were published in --------------------------------


@pytest.fixture
def database_before_stream_positions(postgres_server_url: str):
    """A database of its own at migration 0012, the schema of the release before stream positions."""
    with scratch_database(postgres_server_url, "progress_positions") as url:
        connection = psycopg2.connect(url)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        connection.commit()
        connection.close()
        for version, _, _ in available_migrations():
            if version < STREAM_POSITIONS_MIGRATION:
                apply_migration(url, version)
        yield url


def apply_migration(url: str, number: int) -> None:
    """One migration, applied and recorded as the runner would, and nothing after it."""
    ((version, name, path),) = [migration for migration in available_migrations() if migration[0] == number]
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(path.read_text())
            cursor.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
        connection.commit()
    finally:
        connection.close()


STREAM_POSITIONS_MIGRATION = 13
# What the release before wrote: an event, a tombstone, a goals event (stream versions and the rest left out).
OLD_EVENT = (
    "INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at)"
    " VALUES (nextval('progress_log_id_seq'), %s, 1, 'logged', '{}', 'old', NULL, now())"
)
OLD_TOMBSTONE = "INSERT INTO erasure_tombstones (user_id) VALUES (%s)"
OLD_GOALS_EVENT = (
    "INSERT INTO goal_events (user_id, version, event_type, data, actor, request_id, occurred_at)"
    " VALUES (%s, 1, 'set', '{}', 'old', NULL, now())"
)
# The relay's order before: (transaction id, position), events and tombstones merged.
PUBLISHED_ORDER = """
SELECT kind, position, user_id, tx_id::text::bigint
FROM (SELECT 'event' AS kind, position, user_id, tx_id FROM progress_events
      UNION ALL
      SELECT 'erased', position, user_id, tx_id FROM erasure_tombstones) AS published
ORDER BY tx_id, position
"""
OLD_CHECKPOINT = """
INSERT INTO projector_checkpoints (name, tx_id, position, updated_at)
VALUES ('outbox', %s::text::xid8, %s, now())
"""
# Every event's stream position, in the order of the transactions, and whether its release_tx is its transaction's.
STREAM_POSITIONS = """
SELECT user_id, stream_position, tx_id::text::bigint, release_tx = tx_id
FROM (SELECT user_id, stream_position, tx_id, release_tx FROM progress_events
      UNION ALL
      SELECT user_id, stream_position, tx_id, release_tx FROM erasure_tombstones
      UNION ALL
      SELECT user_id, stream_position, tx_id, tx_id FROM goal_events) AS every_event
ORDER BY tx_id, stream_position
"""


def test_migrating_keeps_the_order_events_were_published_in_and_every_relays_place(database_before_stream_positions):
    url = database_before_stream_positions
    # Given: events of the release before, in transactions whose ids are not in position order: B takes its id, then
    # A writes (a lower position, a higher id), then B writes; then more events, a goals event and a tombstone.
    a, b = psycopg2.connect(url), psycopg2.connect(url)
    b.cursor().execute("SELECT pg_current_xact_id()")
    a.cursor().execute(OLD_EVENT, ("user-1",))
    b.cursor().execute(OLD_EVENT, ("user-1",))
    b.commit()
    a.commit()
    later = psycopg2.connect(url)
    with later.cursor() as cursor:
        cursor.execute(
            "INSERT INTO user_streams (user_id, version) VALUES ('user-1', nextval('user_stream_version_seq')),"
            " ('user-2', nextval('user_stream_version_seq'))"
        )
    for statement, user in [
        (OLD_EVENT, "user-2"),
        (OLD_GOALS_EVENT, "user-1"),
        (OLD_EVENT, "user-1"),
        (OLD_TOMBSTONE, "user-2"),
    ]:
        with later.cursor() as cursor:
            cursor.execute(statement, (user,))
        later.commit()
    with later.cursor() as cursor:
        cursor.execute(PUBLISHED_ORDER)
        published_order = cursor.fetchall()
        # A relay that had published the first two (B's event, then A's).
        cursor.execute(OLD_CHECKPOINT, (str(published_order[1][3]), published_order[1][1]))
    later.commit()
    assert [position for _, position, _, _ in published_order[:2]] != sorted(p for _, p, _, _ in published_order[:2])

    # When: the schema moves to stream positions (migration 0013 alone: a later one drops the transaction ids read
    # below).
    apply_migration(url, STREAM_POSITIONS_MIGRATION)
    database = Database(url)

    # Then: the relay, from its carried-over place, reads what it had not published, in the order it would have.
    wait_for_the_horizon(database)
    place = database.run(lambda cursor: checkpoints.read_checkpoint(cursor, outbox.CHECKPOINT))
    unread = database.run(lambda cursor: outbox.events_after(cursor, place, 100))
    assert [(event.position, event.user_id) for event in unread] == [(p, u) for _, p, u, _ in published_order[2:]]
    # Each user's stream positions follow that order, the goals event among them by its transaction.

    def positions(cursor):
        cursor.execute(STREAM_POSITIONS)
        return cursor.fetchall()

    rows = database.run(positions)
    assert [stream_position for _, stream_position, _, _ in rows] == list(range(1, len(rows) + 1))
    assert all(same for *_, same in rows)  # their release_tx is their transaction's
    # The streams go on from their latest event's transaction; a new write takes a position after every one above.

    def stream_release(cursor):
        cursor.execute("SELECT user_id, release_tx::text::bigint FROM user_streams ORDER BY user_id")
        return cursor.fetchall()

    assert database.run(stream_release) == [
        (user, max(tx for kind, _, owner, tx in published_order if owner == user and kind == "event"))
        for user in ("user-1", "user-2")
    ]
    # And the migrations after it apply to what it left.
    later = [version for version, _, _ in available_migrations() if version > STREAM_POSITIONS_MIGRATION]
    assert migrate(database) == later
    change = appending.Change(actor="new", request_id=None)
    new_log = {"date": date(2026, 1, 1), "weight_kg": 70.0}
    database.run(lambda cursor: appending.log_new(cursor, "user-1", new_log, change))

    def newest(cursor):
        cursor.execute("SELECT max(stream_position) FROM progress_events WHERE user_id = 'user-1'")
        return one_row(cursor)[0]

    assert database.run(newest) > len(rows)
    database.close()
