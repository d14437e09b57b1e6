"""One lock per user: every write of a user's data and the erasure of that user serialise on it, so nothing written
before or during an erasure survives; stream versions never repeat; event times come from the database and never go
backwards within a log; expected conflicts never reach the database server's log as errors."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest

from localdev.databases import scratch_database
from progress_tracking import goals, logs, summaries
from progress_tracking.db import Database, one_row
from progress_tracking.errors import ProgressError
from progress_tracking.migrations import migrate
from progress_tracking.models.goal import GoalsPut
from progress_tracking.models.log import HistoryQuery, ListQuery, LogCreate, LogUpdate, ProgressLog
from progress_tracking.models.summary import SummaryQuery
from progress_tracking.store import appending, checkpoints, erasure, rebuild, summary_facts
from progress_tracking.store.statements import statement
from progress_tracking.transaction_cursor import LOCK_TIMEOUT_MS
from progress_tracking.user_service import UserServiceClient
from tests.helpers import MACHINE, blocked_by, count_rows, stream_version, wait_until

ROUNDS = 25


def entry(user: str, day: int = 1, weight: float = 70.0) -> LogCreate:
    return LogCreate.model_validate({"user_id": user, "date": date(2026, 1, day), "weight_kg": weight})


def logged_with_history(database: Database, users: UserServiceClient, user: str, count: int) -> list[int]:
    """`count` logs of `user`, each at version 2 (so a rollback to 1 is possible)."""
    ids = []
    for n in range(count):
        log_id = logs.log_progress(database, users, MACHINE, entry(user, n + 1), None).log.log_id
        logs.update_log(database, MACHINE, log_id, LogUpdate(notes=f"private note {n}"), None)
        ids.append(log_id)
    return ids


def waiting_on_locks(database_url: str) -> int:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def attempt(work: Callable[[], object]) -> str:
    try:
        work()
        return "ok"
    except ProgressError as exc:  # 404 for a log the erasure took, 409 for a rollback that cannot be: nothing written
        return type(exc).__name__


@pytest.fixture
def users(user_profile) -> UserServiceClient:
    return UserServiceClient(user_profile.base_url)


def user_rows(database: Database, user: str) -> dict[str, int]:
    counts = count_rows(database, user)
    assert {"progress_events", "progress_logs", "user_streams"} <= set(counts)  # the control: tables were found
    return counts


# --- defect 1: erasure serialises with every kind of write -------------------------------------------------------


WRITES = ["post", "put", "delete", "rollback", "delete_all"]


def write(kind: str, database: Database, users: UserServiceClient, user: str, log_id: int) -> Callable[[], object]:
    return {
        "post": lambda: logs.log_progress(database, users, MACHINE, entry(user, 9, 99.0), None),
        "put": lambda: logs.update_log(database, MACHINE, log_id, LogUpdate(notes="written during erasure"), None),
        "delete": lambda: logs.delete_log(database, MACHINE, log_id, None),
        "rollback": lambda: logs.rollback(database, MACHINE, log_id, 1, None),
        "delete_all": lambda: logs.delete_user_logs(database, MACHINE, user, None),
    }[kind]


@pytest.mark.parametrize("kind", WRITES)
def test_a_write_in_flight_when_the_erasure_starts_is_erased_with_everything_else(
    database, database_url, users, new_user, kind
):
    # Given: a user with two logs, and a write of `kind` held inside its transaction by a row lock taken elsewhere.
    user = new_user("inflight")
    log_ids = logged_with_history(database, users, user, 2)
    holder = psycopg2.connect(database_url)
    with holder.cursor() as cursor:
        if kind == "post":
            cursor.execute("SELECT 1 FROM user_streams WHERE user_id = %s FOR UPDATE", (user,))
        else:
            cursor.execute("SELECT 1 FROM progress_logs WHERE log_id = %s FOR UPDATE", (log_ids[0],))
    waiting_before = waiting_on_locks(database_url)
    with ThreadPoolExecutor(2) as pool:
        writer = pool.submit(attempt, write(kind, database, users, user, log_ids[0]))
        assert wait_until(lambda: waiting_on_locks(database_url) > waiting_before)
        # When: the erasure starts while the write is in flight, and then the write is let go.
        eraser = pool.submit(logs.erase_user, database, MACHINE, user)
        wait_until(lambda: eraser.done() or waiting_on_locks(database_url) > waiting_before + 1)
        holder.commit()
        holder.close()
        outcome = writer.result()
        erased = eraser.result()
    # Then: the write committed before the erasure (it started first) and the erasure took it with everything else.
    assert outcome == "ok"
    assert erased["events"] >= 4
    assert set(user_rows(database, user).values()) == {0}
    assert database.run(rebuild.compare_projection).consistent


@pytest.mark.parametrize("kind", ["post", "put", "rollback", "delete_all"])
def test_a_write_that_waits_for_an_erasure_finds_nothing(database, database_url, users, new_user, kind):
    user = new_user("after")
    log_ids = logged_with_history(database, users, user, 2)
    eraser = psycopg2.connect(database_url)
    with eraser.cursor() as cursor:
        erasure.erase_user(cursor, user)  # the erasure, not yet committed
    waiting_before = waiting_on_locks(database_url)
    with ThreadPoolExecutor(1) as pool:
        writer = pool.submit(attempt, write(kind, database, users, user, log_ids[0]))
        wait_until(lambda: writer.done() or waiting_on_locks(database_url) > waiting_before)
        eraser.commit()
        eraser.close()
        outcome = writer.result()
    rows = user_rows(database, user)
    if kind == "post":  # a fresh start: one log, one event, one stream, nothing of before
        assert outcome == "ok"
        assert (rows["progress_events"], rows["progress_logs"], rows["user_streams"]) == (1, 1, 1)
    else:
        assert outcome == ("ok" if kind == "delete_all" else "LogNotFound")
        assert set(rows.values()) == {0}


def test_an_erased_user_is_named_in_no_table_not_even_by_the_recompute_checkpoint(database, users, new_user):
    # Given a recompute run that read the user's stream, the last one to move...
    user = new_user("named")
    logs.log_progress(database, users, MACHINE, entry(user), None)
    # (Streams are read only below the horizon, which a transaction anywhere on the server holds back: wait for it.)
    deadline = time.monotonic() + 30
    while database.run(lambda cursor: summary_facts.stored_summary(cursor, user)) is None:  # the control: it did
        assert time.monotonic() < deadline
        summaries.recompute(database, lambda: 600_000)
    # ...the user's erasure leaves no row naming them.
    logs.erase_user(database, MACHINE, user)
    assert set(count_rows(database, user).values()) == {0}

    # Given a run that stopped for time after a full window, whose place is the last user it read (within a
    # transaction that moved more streams than a window holds)...
    other = new_user("stopped-at")
    logs.log_progress(database, users, MACHINE, entry(other), None)

    def stop_at_other(cursor):
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")  # a place after everything so far
        place = checkpoints.Checkpoint(one_row(cursor)[0], 0, other)
        checkpoints.save_checkpoint(cursor, summaries.CHECKPOINT, place, datetime.now(UTC))

    database.run(stop_at_other)
    assert count_rows(database, other)["projector_checkpoints"] == 1  # the control: the place names them
    # ...the erasure takes the name out of it too...
    logs.erase_user(database, MACHINE, other)
    assert set(count_rows(database, other).values()) == {0}
    # ...and a run that read the stream before the erasure and saves its place after it names nobody.
    database.run(stop_at_other)
    assert count_rows(database, other)["projector_checkpoints"] == 0


def erasure_race_round(database: Database, users: UserServiceClient, user: str) -> tuple[list[int], set[int]]:
    """Writers of every kind and a summary reader against one erasure, started together."""
    log_ids = logged_with_history(database, users, user, 3)
    posted: set[int] = set()

    def post() -> None:
        posted.add(logs.log_progress(database, users, MACHINE, entry(user, 20, 50.0), None).log.log_id)

    work: list[Callable[[], object]] = [post, post]
    for log_id in log_ids:
        work += [
            lambda log_id=log_id: logs.update_log(database, MACHINE, log_id, LogUpdate(notes="racing"), None),
            lambda log_id=log_id: logs.rollback(database, MACHINE, log_id, 1, None),
            lambda log_id=log_id: logs.delete_log(database, MACHINE, log_id, None),
        ]
    work += [
        lambda: logs.delete_user_logs(database, MACHINE, user, None),
        lambda: summaries.summarize(database, MACHINE, user, SummaryQuery()),
        lambda: logs.erase_user(database, MACHINE, user),
    ]
    start = threading.Barrier(len(work))

    def run(job: Callable[[], object]) -> str:
        start.wait()
        return attempt(job)

    with ThreadPoolExecutor(len(work)) as pool:
        list(pool.map(run, work))
    return log_ids, posted


def test_nothing_written_before_or_during_an_erasure_survives_it(database, users, new_user):
    outcomes = {"nothing left": 0, "fresh start only": 0}
    for _ in range(ROUNDS):
        user = new_user("race")
        log_ids, posted = erasure_race_round(database, users, user)

        def survivors(cursor):
            cursor.execute(
                "SELECT log_id, version, event_type FROM progress_events WHERE user_id = %s ORDER BY position", (user,)
            )
            return cursor.fetchall()

        events = database.run(survivors)
        rows = user_rows(database, user)
        # No event of a log that existed when the erasure started: no update, rollback or deletion of it survives.
        assert not [event for event in events if event[0] in log_ids]
        if events:
            # Only logs of POSTs that started after the erasure, each born `logged` at version 1 (a delete-all that
            # also came after may have deleted it since).
            assert {log_id for log_id, _, _ in events} <= posted
            assert {(version, kind) for _, version, kind in events} <= {(1, "logged"), (2, "deleted")}
            assert rows["user_streams"] == 1
            outcomes["fresh start only"] += 1
            logs.erase_user(database, MACHINE, user)
        else:
            outcomes["nothing left"] += 1
        assert set(user_rows(database, user).values()) == {0}
    assert database.run(rebuild.compare_projection).consistent
    assert sum(outcomes.values()) == ROUNDS


# --- defect 2: an erased summary is never served; a stream version never repeats ---------------------------------


def test_a_first_log_racing_the_erasure_of_a_user_who_had_none_is_written_whole_after_it(
    database, database_url, users, new_user
):
    # Given an erasure of a user with no stream (nothing logged yet, or erased before: the UserDeleted event, say),
    # held just after its first statement, the user's lock...
    user = new_user()
    locked, go_on = threading.Event(), threading.Event()

    class Pausing:  # the erasure's cursor, stopping after the statement that takes the user's lock
        def __init__(self, cursor):
            self._cursor = cursor

        def execute(self, query, params=None):
            self._cursor.execute(query, params)
            if "progress_lock_user" in query:
                locked.set()
                go_on.wait(timeout=10)

        def __getattr__(self, name):
            return getattr(self._cursor, name)

    eraser = psycopg2.connect(database_url)

    def erase():
        erasure.erase_user(Pausing(eraser.cursor()), user)
        eraser.commit()

    try:
        with ThreadPoolExecutor(2) as pool:
            erasing = pool.submit(erase)
            assert locked.wait(timeout=10)
            # ...a first log for that user, in flight meanwhile, waits for the erasure (without a stream to lock, it
            # would commit at once, and the erasure would then take it).
            logging = pool.submit(lambda: logs.log_progress(database, users, MACHINE, entry(user), None))
            assert wait_until(lambda: blocked_by(database_url, eraser.get_backend_pid()))
            go_on.set()
            erasing.result(timeout=10)
            logging.result(timeout=10)
    finally:
        eraser.close()
    # Then: the log is there whole, written after the erasure; never an event without its log.
    counts = count_rows(database, user)
    assert (counts["progress_events"], counts["progress_logs"], counts["user_streams"]) == (1, 1, 1)
    # The control: the same first log without an erasure writes all three.
    other = new_user()
    logs.log_progress(database, users, MACHINE, entry(other), None)
    other_counts = count_rows(database, other)
    assert (other_counts["progress_events"], other_counts["progress_logs"], other_counts["user_streams"]) == (1, 1, 1)


def test_a_summary_computed_while_the_user_is_erased_is_erased_too_and_never_served(
    database, database_url, users, new_user
):
    user = new_user("summary")
    for day, weight in enumerate((90.0, 91.0, 92.0, 93.0), start=1):
        logs.log_progress(database, users, MACHINE, entry(user, day, weight), None)
    version_before = stream_version(database, user)
    # Given: a summary read in its transaction, having computed the user's facts, not yet committed.
    reader = psycopg2.connect(database_url)
    with reader.cursor() as cursor:
        summary_facts.refresh_stale(cursor, [user], datetime.now(UTC))
    waiting_before = waiting_on_locks(database_url)
    with ThreadPoolExecutor(1) as pool:
        # When: the user is erased meanwhile, and the summary read commits.
        eraser = pool.submit(logs.erase_user, database, MACHINE, user)
        wait_until(lambda: eraser.done() or waiting_on_locks(database_url) > waiting_before)
        reader.commit()
        reader.close()
        eraser.result()
    # Then: nothing of the user is left, the summary included.
    assert set(user_rows(database, user).values()) == {0}
    # And: after as many new logs as before, the summary is of the new logs, and the version has moved on.
    for day in range(1, 5):
        logs.log_progress(database, users, MACHINE, entry(user, day, 60.0), None)
    assert stream_version(database, user) > version_before
    summary = summaries.summarize(database, MACHINE, user, SummaryQuery())
    assert (summary.log_count, summary.average_weight, summary.max_weight_kg) == (4, 60.0, 60.0)


@pytest.mark.parametrize("write", ["post", "put", "goals", "erasure"])
def test_a_summary_read_holds_no_lock_a_writer_needs_only_erasure_waits_for_it(
    database, database_url, users, new_user, write
):
    # Given: a stale summary read that has computed and stored the user's facts, its transaction held open (its
    # stream row held FOR KEY SHARE, the strongest lock any GET takes).
    user = new_user("reader")
    (log_id,) = logged_with_history(database, users, user, 1)
    reader = psycopg2.connect(database_url)
    with reader.cursor() as cursor:
        assert summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)).log_count == 1
        cursor.execute("SELECT count(*) FROM progress_summaries WHERE user_id = %s", (user,))
        assert cursor.fetchone()[0] == 1  # stored, uncommitted
    jobs: dict[str, Callable[[], object]] = {
        "post": lambda: logs.log_progress(database, users, MACHINE, entry(user, 9), None),
        "put": lambda: logs.update_log(database, MACHINE, log_id, LogUpdate(notes="while read"), None),
        "goals": lambda: goals.set_goals(database, users, MACHINE, user, GoalsPut(weekly_workouts=3), None),
        "erasure": lambda: logs.erase_user(database, MACHINE, user),
    }
    waiting_before = waiting_on_locks(database_url)
    with ThreadPoolExecutor(1) as pool:
        # When: a write of the user starts while the read is open.
        job = pool.submit(jobs[write])
        if write == "erasure":
            # Then (positive control): the erasure waits for the read, and goes on once the read commits.
            assert wait_until(lambda: waiting_on_locks(database_url) > waiting_before or job.done())
            assert not job.done()
            reader.commit()
            assert job.result(timeout=10)["events"] >= 2
        else:
            # Then: the write commits while the read is still open.
            job.result(timeout=10)
            reader.commit()
    reader.close()


def test_a_stale_summary_left_from_before_an_erasure_never_matches_the_new_stream(database, users, new_user):
    user = new_user("stale")
    for day in range(1, 4):
        logs.log_progress(database, users, MACHINE, entry(user, day, 80.0), None)
    summaries.summarize(database, MACHINE, user, SummaryQuery())
    old_summary = database.run(lambda cursor: summary_facts.stored_summary(cursor, user))
    assert old_summary is not None
    logs.erase_user(database, MACHINE, user)

    def put_back(cursor):  # what a summary read racing an erasure left behind before the per-user lock
        cursor.execute(
            "INSERT INTO progress_summaries (user_id, stream_version, facts, computed_at) VALUES (%s, %s, %s, now())",
            (user, old_summary[0], psycopg2.extras.Json(old_summary[1].model_dump(mode="json"))),
        )

    database.run(put_back)
    for day in range(1, 4):
        logs.log_progress(database, users, MACHINE, entry(user, day, 50.0), None)
    summary = summaries.summarize(database, MACHINE, user, SummaryQuery())
    assert (summary.log_count, summary.average_weight) == (3, 50.0)


# --- defect 3: event times come from the database and never go backwards within a log ----------------------------


def history_times(database: Database, log_id: int) -> list[datetime]:
    return [event.occurred_at for event in database.run(lambda cursor: appending.log_events(cursor, log_id))]


# A log's latest event, its states in time, its projection and its user's stream as a database server whose clock ran an
# interval ahead would have left them (the rebuild's comparison of projections and events still holds).
MOVE_LATEST_EVENT_AHEAD = """
WITH latest AS (
    UPDATE progress_events
    SET occurred_at = occurred_at + %(ahead)s
    WHERE log_id = %(log_id)s
      AND version = (SELECT max(version) FROM progress_events WHERE log_id = %(log_id)s)
    RETURNING occurred_at
),
started AS (
    UPDATE progress_log_versions
    SET valid_from = (SELECT occurred_at FROM latest)
    WHERE log_id = %(log_id)s
      AND valid_to = 'infinity'
),
ended AS (
    UPDATE progress_log_versions
    SET valid_to = (SELECT occurred_at FROM latest)
    WHERE log_id = %(log_id)s
      AND version = (SELECT max(version) - 1 FROM progress_events WHERE log_id = %(log_id)s)
),
projected AS (
    UPDATE progress_logs
    SET updated_at = (SELECT occurred_at FROM latest)
    WHERE log_id = %(log_id)s
)
UPDATE user_streams
SET last_at = (SELECT occurred_at FROM latest)
WHERE user_id = %(user_id)s
RETURNING last_at
"""


def stream_written_by_a_clock_ahead(database: Database, user: str, log_id: int, ahead: timedelta) -> datetime:
    """The time of the user's latest event, once moved `ahead` (MOVE_LATEST_EVENT_AHEAD)."""

    def move(cursor):
        cursor.execute(MOVE_LATEST_EVENT_AHEAD, {"ahead": ahead, "log_id": log_id, "user_id": user})
        return one_row(cursor)[0]

    return database.run(move)


CLOCK_WRITES = ["post", "put", "delete", "rollback", "delete_all"]


@pytest.mark.parametrize("kind", CLOCK_WRITES)
def test_an_event_is_never_earlier_than_the_streams_latest_whichever_clock_wrote_that(database, users, new_user, kind):
    # Given: the user's latest event written an hour ahead of this server's clock (a clock that ran ahead, then a
    # failover): its stream's last_at is in the future.
    user = new_user("clock")
    log_id = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id
    logs.update_log(database, MACHINE, log_id, LogUpdate(weight_kg=71.0), None)
    ahead = stream_written_by_a_clock_ahead(database, user, log_id, timedelta(hours=1))
    assert ahead > datetime.now(UTC) + timedelta(minutes=59)  # the control: the stream's time is ahead of the clock
    # When: the user writes again.
    write(kind, database, users, user, log_id)()
    # Then: the new event is not earlier than the one before, in the log's history and across the user's stream.

    def user_times(cursor):
        cursor.execute("SELECT occurred_at FROM progress_events WHERE user_id = %s ORDER BY position", (user,))
        return [row[0] for row in cursor.fetchall()]

    times = database.run(user_times)
    assert len(times) == 3
    assert times == sorted(times) and times[-1] >= ahead
    if kind in ("put", "rollback"):  # time travel to the new version's moment shows it
        version = history_times(database, log_id)[-1]
        page = logs.list_progress(database, MACHINE, user, ListQuery(as_of=version))
        assert [log.version for log in page.progress_logs] == [3]


def test_versions_of_a_log_never_go_back_in_time_when_delete_all_races_updates(database, users, new_user):
    for _ in range(ROUNDS):
        user = new_user("times")
        log_id = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id
        work: list[Callable[[], object]] = [
            lambda n=n: logs.update_log(database, MACHINE, log_id, LogUpdate(notes=str(n)), None) for n in range(4)
        ]
        work.insert(2, lambda: logs.delete_user_logs(database, MACHINE, user, None))
        with ThreadPoolExecutor(len(work)) as pool:
            list(pool.map(attempt, work))
        times = history_times(database, log_id)
        assert times == sorted(times)


# --- goal writes take the user's lock first, a first one included ----------------------------------------------

GOAL_ROUNDS = 30
GOAL_WRITERS = 4


def first_goal_writes_at_once(database: Database, users: UserServiceClient, user: str) -> list[str]:
    """GOAL_WRITERS first goal writes for a user with nothing yet, started together; each one's outcome."""
    assert users.user_exists(user)  # asked once first: the writers race for the lock, not for the User Profile stand-in
    start = threading.Barrier(GOAL_WRITERS)

    def set_goals(n: int) -> str:
        start.wait()
        return attempt(lambda: goals.set_goals(database, users, MACHINE, user, GoalsPut(weekly_workouts=n + 1), None))

    with ThreadPoolExecutor(GOAL_WRITERS) as pool:
        return list(pool.map(set_goals, range(GOAL_WRITERS)))


def test_concurrent_first_goal_writes_of_a_user_all_succeed_one_after_another(database, users, new_user):
    for _ in range(GOAL_ROUNDS):
        user = new_user("goals")
        outcomes = first_goal_writes_at_once(database, users, user)
        assert outcomes == ["ok"] * GOAL_WRITERS
        history = goals.goal_history(database, MACHINE, user, HistoryQuery())
        assert [event.version for event in history.events] == list(range(1, GOAL_WRITERS + 1))
        assert [event.type for event in history.events] == ["set"] + ["changed"] * (GOAL_WRITERS - 1)


# --- defect 4: rollback finds a version by its number ------------------------------------------------------------


def test_rollback_finds_the_version_by_number_when_history_does_not_start_at_one(database, users, new_user):
    user = new_user("sparse")
    log_id = logs.log_progress(database, users, MACHINE, entry(user, 1, 70.0), None).log.log_id
    for weight in (71.0, 72.0):
        logs.update_log(database, MACHINE, log_id, LogUpdate(weight_kg=weight), None)

    def drop_first_version(cursor):  # a history that starts at 2 (imported, or trimmed)
        cursor.execute("DELETE FROM progress_events WHERE log_id = %s AND version = 1", (log_id,))

    database.run(drop_first_version)
    restored = logs.rollback(database, MACHINE, log_id, 2, None)
    assert (restored.version, restored.weight_kg) == (4, 71.0)
    with pytest.raises(ProgressError):
        logs.rollback(database, MACHINE, log_id, 1, None)  # no such version: refused, nothing written
    assert [e.version for e in database.run(lambda cursor: appending.log_events(cursor, log_id))] == [2, 3, 4]
    logs.erase_user(database, MACHINE, user)  # its trimmed history would not rebuild to the same created_at


# --- defect 8: expected conflicts never reach the database server's log -------------------------------------------


@pytest.fixture(scope="module")
def private_postgres():
    """A Postgres cluster of this test's own, whose server log (errors with their statements) is a file it reads."""
    from localdev.embedded_postgres import start_embedded_postgres

    # Not under pytest's own temporary folder: as root, pgserver runs Postgres as another user, who must reach it.
    folder = Path(tempfile.mkdtemp(prefix="progress-private-pg-"))
    folder.chmod(0o755)
    server, url = start_embedded_postgres(folder / "data", cleanup_mode="delete")
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("ALTER SYSTEM SET log_min_error_statement = 'error'")
        cursor.execute("ALTER SYSTEM SET log_min_messages = 'warning'")
        cursor.execute("SELECT pg_reload_conf()")
    admin.close()
    with scratch_database(url) as database_url:
        database = Database(database_url)
        migrate(database)
        yield database, database_url, server.pgdata / "log"
        database.close()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def test_the_database_server_log_names_no_user_after_conflicts_and_races(private_postgres, user_profile):
    database, database_url, server_log = private_postgres
    users = UserServiceClient(user_profile.base_url)
    marker = f"control-{uuid.uuid4().hex[:8]}"
    named: list[str] = []
    for _ in range(5):
        user = f"pii-{uuid.uuid4().hex[:10]}"
        user_profile.known.add(user)
        named.append(user)
        erasure_race_round(database, users, user)
    # Concurrent rollbacks of a deleted log with one If-Match (412 for all but one), If-Match races on a PUT (412),
    # concurrent requests with one Idempotency-Key.
    user = f"pii-{uuid.uuid4().hex[:10]}"
    user_profile.known.add(user)
    named.append(user)
    log_id = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id
    logs.delete_log(database, MACHINE, log_id, None)
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(
            pool.map(
                lambda _: attempt(lambda: logs.rollback(database, MACHINE, log_id, 1, None, frozenset({2}))),
                range(8),
            )
        )
        assert outcomes.count("ok") == 1
        list(
            pool.map(
                lambda n: attempt(
                    lambda: logs.update_log(
                        database, MACHINE, log_id, LogUpdate(notes=str(n)), None, expected_versions=frozenset({3})
                    )
                ),
                range(8),
            )
        )
        list(
            pool.map(
                lambda _: attempt(lambda: logs.log_progress(database, users, MACHINE, entry(user), None, "one-key")),
                range(8),
            )
        )
    # First goal writes of a user racing each other.
    user = f"pii-{uuid.uuid4().hex[:10]}"
    user_profile.known.add(user)
    named.append(user)
    assert first_goal_writes_at_once(database, users, user) == ["ok"] * GOAL_WRITERS
    # The positive control: a statement that does fail is in the log, with its values.
    control = psycopg2.connect(database_url)
    with control.cursor() as cursor, pytest.raises(psycopg2.errors.UniqueViolation):
        cursor.execute("INSERT INTO user_streams (user_id, version) VALUES (%s, 1), (%s, 1)", (marker, marker))
    control.close()
    assert wait_until(lambda: marker in server_log.read_text(errors="replace"))
    text = server_log.read_text(errors="replace")
    assert [user for user in named if user in text] == []


def test_a_rebuild_started_while_a_write_is_in_flight_waits_for_it_instead_of_deadlocking(
    database, database_url, users, new_user
):
    # Given a new log's write held between its event (which writes the log's state in time, progress_log_versions)
    # and its projection (progress_logs), the order every write takes them in...
    user = new_user()
    logs.log_progress(database, users, MACHINE, entry(user, 1), None)
    writer = psycopg2.connect(database_url)
    rebuilder = psycopg2.connect(database_url)
    try:
        cursor = writer.cursor()
        cursor.execute(statement("lock_new_log"), {"user_id": user})
        at, release_tx, log_id = cursor.fetchone()
        log = ProgressLog(
            log_id=log_id, user_id=user, version=1, created_at=at, updated_at=at, date=date(2026, 1, 2),
            weight_kg=71.0, workout_done=None, calories_burned=None, notes=None,
        )  # fmt: skip
        change = appending.Change(MACHINE.principal, None)
        cursor.execute(
            statement("append_log_event"),
            {**log.model_dump(), "event_type": "logged", "data": appending.event_data(log), "actor": change.actor,
             "request_id": None, "at": at, "release_tx": release_tx},
        )  # fmt: skip

        # ...a rebuild of the projections starts and waits for it (before: it locked progress_logs first and then
        # waited for progress_log_versions, which the writer holds)...
        def rebuild_all() -> int:
            with rebuilder.cursor() as rebuilding:
                live = rebuild.replace_projection(rebuilding)
            rebuilder.commit()
            return live

        with ThreadPoolExecutor(1) as pool:
            rebuilding = pool.submit(rebuild_all)
            assert wait_until(lambda: blocked_by(database_url, writer.get_backend_pid()))
            # ...and the writer goes on to its projection: both commit (before: one of them was chosen as the
            # deadlock's victim, a 503 for the client or a failed rebuild for the operator).
            cursor.execute(statement("project_log"), log.model_dump())
            writer.commit()
            assert rebuilding.result(timeout=30) >= 2
    finally:
        writer.close()
        rebuilder.close()
    # The rebuilt projection has the log written meanwhile, and agrees with the events.
    assert count_rows(database, user)["progress_logs"] == 2
    assert database.run(rebuild.compare_projection).consistent


def test_a_rebuild_waits_past_the_requests_lock_wait_for_a_table_lock_it_needs(database, database_url):
    # Given a lock on the states in time that conflicts with the rebuild's and that autovacuum takes (SHARE UPDATE
    # EXCLUSIVE; autovacuum gives way only after deadlock_timeout, a second), held past a request's lock wait (1 s)...
    holder = psycopg2.connect(database_url)
    try:
        holder.cursor().execute("LOCK TABLE progress_log_versions IN SHARE UPDATE EXCLUSIVE MODE")
        with ThreadPoolExecutor(1) as pool:
            rebuilding = pool.submit(database.run, rebuild.replace_projection)
            assert wait_until(lambda: blocked_by(database_url, holder.get_backend_pid()))
            time.sleep(LOCK_TIMEOUT_MS / 1000 + 0.3)  # past the lock wait a request would have given up at
            assert not rebuilding.done()  # ...the rebuild still waits (before: 503 database_busy after 1 s)...
            holder.rollback()
            # ...and replaces the projection once the lock is free.
            assert rebuilding.result(timeout=30) >= 0
    finally:
        holder.close()
    assert database.run(rebuild.compare_projection).consistent
