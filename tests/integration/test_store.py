"""The layer's Postgres side on a real database: events and projection in one transaction, paging, summaries,
connections that break, and migrations."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import psycopg2
import pytest

from localdev.databases import scratch_database
from progress_tracking.db import Database
from progress_tracking.errors import DatabaseUnavailable, LogNotFound
from progress_tracking.migrations import available_migrations, migrate
from progress_tracking.store import appending, listing, summary_facts


def change(actor: str = "tester") -> appending.Change:
    return appending.Change(actor=actor, request_id=f"req-{uuid.uuid4().hex[:8]}")


def new_log(database: Database, user_id: str, day: date = date(2026, 1, 1), **fields):
    values = {"date": day, "weight_kg": 80.0, **fields}
    return database.run(lambda cursor: appending.log_new(cursor, user_id, values, change()))


def events_of(database: Database, log_id: int) -> list[tuple]:
    def read(cursor):
        cursor.execute(
            "SELECT version, event_type, data, actor, request_id FROM progress_events WHERE log_id = %s"
            " ORDER BY version",
            (log_id,),
        )
        return cursor.fetchall()

    return database.run(read)


def projection_of(database: Database, log_id: int):
    def read(cursor):
        cursor.execute("SELECT version, weight_kg, notes FROM progress_logs WHERE log_id = %s", (log_id,))
        return cursor.fetchone()

    return database.run(read)


def test_each_change_appends_an_event_with_the_full_state_and_updates_the_projection(database):
    user = f"u-{uuid.uuid4().hex[:8]}"
    created = new_log(database, user, notes="first")

    def update(cursor):
        current = appending.lock_log(cursor, created.log_id)
        return appending.update(cursor, current, {"weight_kg": 79.5}, change("editor"))

    updated = database.run(update)
    database.run(lambda cursor: appending.delete(cursor, appending.lock_log(cursor, created.log_id), change("remover")))

    events = events_of(database, created.log_id)
    assert [(version, kind, actor) for version, kind, _, actor, _ in events] == [
        (1, "logged", "tester"),
        (2, "updated", "editor"),
        (3, "deleted", "remover"),
    ]
    state = {"date": "2026-01-01", "weight_kg": 79.5, "workout_done": None, "calories_burned": None, "notes": "first"}
    state |= {"weight_lb": None, "weight_unit": "kg", "source": "manual", "device": None}
    assert events[1][2] == state and events[2][2] == state  # the deletion keeps the last state
    assert all(request_id.startswith("req-") for *_, request_id in events)
    assert updated.version == 2 and projection_of(database, created.log_id) is None


def test_a_failure_inside_the_transaction_leaves_neither_event_nor_projection(database):
    user = f"u-{uuid.uuid4().hex[:8]}"

    def log_then_fail(cursor):
        appending.log_new(cursor, user, {"date": date(2026, 1, 1), "weight_kg": 70.0}, change())
        raise RuntimeError("crash after the writes, before the commit")

    with pytest.raises(RuntimeError):
        database.run(log_then_fail)

    def count(cursor):
        cursor.execute(
            "SELECT (SELECT count(*) FROM progress_events WHERE user_id = %(u)s),"
            " (SELECT count(*) FROM progress_logs WHERE user_id = %(u)s)",
            {"u": user},
        )
        return cursor.fetchone()

    assert database.run(count) == (0, 0)


def test_concurrent_updates_of_one_log_queue_and_lose_nothing(database):
    created = new_log(database, f"u-{uuid.uuid4().hex[:8]}")
    barrier = threading.Barrier(4)

    def bump(n: int) -> None:
        def work(cursor):
            current = appending.lock_log(cursor, created.log_id)
            return appending.update(cursor, current, {"notes": f"{current.log.notes or ''}{n}"}, change())

        barrier.wait()
        database.run(work)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(bump, range(4)))
    version, _, notes = projection_of(database, created.log_id)
    assert version == 5 and sorted(notes) == ["0", "1", "2", "3"]
    assert [row[0] for row in events_of(database, created.log_id)] == [1, 2, 3, 4, 5]


def test_lock_log_of_a_missing_log_raises_log_not_found(database):
    with pytest.raises(LogNotFound):
        database.run(lambda cursor: appending.lock_log(cursor, 2**62))


def test_keyset_pages_break_ties_on_the_same_date_by_log_id(database):
    user = f"u-{uuid.uuid4().hex[:8]}"
    ids = [new_log(database, user, date(2026, 5, 1)).log_id for _ in range(5)]

    def page(after):
        return database.run(
            lambda cursor: listing.list_logs(cursor, user, after=after, date_from=None, date_to=None, limit=2)
        )

    first = page(None)
    second = page((first[-1].date, first[-1].log_id))
    third = page((second[-1].date, second[-1].log_id))
    assert [log.log_id for log in first + second + third] == ids


def test_delete_all_for_user_appends_one_deletion_event_per_live_log(database):
    user = f"u-{uuid.uuid4().hex[:8]}"
    logs = [new_log(database, user, workout_done="swim") for _ in range(3)]
    assert database.run(lambda cursor: appending.delete_all_for_user(cursor, user, change("admin"))) == 3
    for created in logs:
        version, kind, data, actor, _ = events_of(database, created.log_id)[-1]
        assert (version, kind, actor) == (2, "deleted", "admin")
        assert data == {
            "date": "2026-01-01",
            "weight_kg": 80.0,
            "workout_done": "swim",
            "calories_burned": None,
            "notes": None,
            "weight_lb": None,
            "weight_unit": "kg",
            "source": "manual",
            "device": None,
        }


def test_summary_facts_aggregate_the_live_logs(database):
    user = f"u-{uuid.uuid4().hex[:8]}"
    for day, weight, workout in [(1, 90.0, "Row"), (2, 89.0, "row"), (3, None, "bike"), (5, 88.0, None)]:
        new_log(database, user, date(2026, 4, day), weight_kg=weight, workout_done=workout, calories_burned=100.0)
    facts = database.run(lambda cursor: summary_facts.facts_in_range(cursor, user))
    assert (facts.log_count, facts.first_weight, facts.latest_weight, facts.min_weight, facts.max_weight) == (
        4,
        90.0,
        88.0,
        88.0,
        90.0,
    )
    assert facts.workouts == {"bike": 1, "row": 2}
    assert (facts.longest_streak, facts.last_streak, facts.total_calories) == (3, 1, 400.0)


# --- connections ------------------------------------------------------------------------------------------------


def backend_pid(database: Database) -> int:
    def read(cursor):
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]

    return database.run(read)


def test_a_warm_connection_is_reused(database_url):
    database = Database(database_url)
    assert backend_pid(database) == backend_pid(database)
    database.close()


def test_a_connection_killed_while_idle_is_replaced_transparently(database_url, direct_database_url):
    database = Database(database_url)
    first = backend_pid(database)
    with psycopg2.connect(direct_database_url) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (first,))
    second = backend_pid(database)
    assert second != first
    database.close()


def test_threads_never_share_a_connection(database_url):
    database = Database(database_url)
    barrier = threading.Barrier(3)

    def hold(cursor):
        cursor.execute("SELECT 1")  # the transaction begins with its first statement
        barrier.wait(timeout=10)  # all three transactions are open at once
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]

    with ThreadPoolExecutor(3) as pool:
        pids = list(pool.map(lambda _: database.run(hold), range(3)))
    assert len(set(pids)) == 3


def test_an_unreachable_database_is_database_unavailable():
    database = Database("postgresql://postgres@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseUnavailable):
        database.run(lambda cursor: cursor.execute("SELECT 1"))


# --- migrations -------------------------------------------------------------------------------------------------


@pytest.fixture
def empty_database_url(postgres_server_url):
    with scratch_database(postgres_server_url, "progress_migrate") as url:
        yield url


def test_migrations_apply_once_even_when_run_concurrently(empty_database_url):
    barrier = threading.Barrier(4)

    def run(_: int) -> list[int]:
        database = Database(empty_database_url)
        barrier.wait()
        applied = migrate(database)
        database.close()
        return applied

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4)))
    everything = [version for version, _, _ in available_migrations()]
    assert sorted(results, key=len) == [[], [], [], everything]
    assert migrate(Database(empty_database_url)) == []


def test_a_deferred_statement_that_ends_in_a_comment_does_not_swallow_the_next_one(database):
    # Deferred statements go out joined into one round trip: a statement file whose last line is a comment with no
    # newline after it must not comment out the statement joined after it (it did with a "; " join).
    from progress_tracking.db import defer

    def work(cursor):
        cursor.execute("CREATE TEMP TABLE joined (n int) ON COMMIT DROP")
        defer(cursor, "INSERT INTO joined VALUES (1) -- the last line of a file, a comment")
        defer(cursor, "INSERT INTO joined VALUES (2)")
        cursor.execute("SELECT array_agg(n ORDER BY n) FROM joined")
        return cursor.fetchone()[0]

    assert database.run(work) == [1, 2]  # each value is read back: the control is the first, without a comment
