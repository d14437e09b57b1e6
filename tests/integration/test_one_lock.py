"""One per-user lock: every write of a user's data takes it first, through one function (`progress_lock_user`), and
reads the user's data only after it holds it, so a write that waited for the lock sees what committed meanwhile and
still costs two round trips."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import psycopg2
import pytest

from localdev.wire import RoundTripCounter
from progress_tracking import goals, logs, upserts
from progress_tracking.db import Database
from progress_tracking.models.goal import GoalsPatch, GoalsPut
from progress_tracking.models.log import ListQuery, LogCreate, LogItem, LogUpdate
from progress_tracking.store import appending, goal_events
from progress_tracking.user_service import UserServiceClient
from tests.helpers import MACHINE, ROOT, blocked_by, wait_until

LAYER = ROOT / "layers" / "progress_tracking" / "progress_tracking"
# A statement that locks a user's stream row, or creates one (which holds it until the transaction ends).
LOCKS_A_STREAM = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b|\bINSERT\s+INTO\s+user_streams\b", re.IGNORECASE)


def without_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def statements_of_the_layer() -> dict[str, str]:
    """Every SQL text the layer sends: its statement files and its Python string constants (docstrings aside)."""
    found = {
        str(path.relative_to(LAYER)): path.read_text()
        for path in LAYER.rglob("*.sql")
        if path.parent.name != "migrations"
    }
    for path in LAYER.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                found[f"{path.relative_to(LAYER)}:{node.lineno}"] = node.value
    return found


def functions_of_the_database(database: Database) -> dict[str, str]:
    def read(cursor):
        cursor.execute(
            "SELECT p.proname, p.prosrc FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema()"
        )
        return dict(cursor.fetchall())

    return database.run(read)


def stream_lockers(texts: dict[str, str]) -> list[str]:
    return sorted(
        name
        for name, text in texts.items()
        if "user_streams" in without_comments(text) and LOCKS_A_STREAM.search(without_comments(text))
    )


def test_only_the_lock_function_locks_a_users_stream(database):
    functions = functions_of_the_database(database)
    # The control: the detector finds the lock where it is.
    assert stream_lockers({"progress_lock_user": functions.get("progress_lock_user", "")}) == ["progress_lock_user"]
    assert stream_lockers(functions) == ["progress_lock_user"]
    assert stream_lockers(statements_of_the_layer()) == []


# --- every write waits for the one lock -----------------------------------------------------------------------------


def entry(user: str, day: int = 1) -> LogCreate:
    return LogCreate.model_validate({"user_id": user, "date": date(2026, 3, day), "weight_kg": 70.0})


@pytest.fixture
def users(user_profile) -> UserServiceClient:
    return UserServiceClient(user_profile.base_url)


def writes(database: Database, users: UserServiceClient, user: str, log_id: int) -> dict[str, Callable[[], object]]:
    return {
        "post": lambda: logs.log_progress(database, users, MACHINE, entry(user, 9), None),
        "post with a key": lambda: logs.log_progress(database, users, MACHINE, entry(user, 8), None, "lock-key"),
        "post with a client record id": lambda: logs.log_progress(
            database,
            users,
            MACHINE,
            entry(user, 7).model_copy(update={"client_record_id": "r", "client_version": 1}),
            None,
        ),
        "batch upsert": lambda: upserts.upsert_batch(
            database, users, MACHINE, user, [LogItem.model_validate({"date": "2026-03-06", "weight_kg": 71.0})], None
        ),
        "put": lambda: logs.update_log(database, MACHINE, log_id, LogUpdate(notes="after the lock"), None),
        "delete": lambda: logs.delete_log(database, MACHINE, log_id, None),
        "rollback": lambda: logs.rollback(database, MACHINE, log_id, 1, None),
        "delete all": lambda: logs.delete_user_logs(database, MACHINE, user, None),
        "set goals": lambda: goals.set_goals(database, users, MACHINE, user, GoalsPut(weekly_workouts=2), None),
        "patch goals": lambda: goals.patch_goals(
            database, users, MACHINE, user, GoalsPatch(weekly_calories_burned=500), None
        ),
        "clear goals": lambda: goals.clear_goals(database, MACHINE, user, None),
        "erase": lambda: logs.erase_user(database, MACHINE, user),
    }


WRITES = [
    "post",
    "post with a key",
    "post with a client record id",
    "batch upsert",
    "put",
    "delete",
    "rollback",
    "delete all",
    "set goals",
    "patch goals",
    "clear goals",
    "erase",
]


@pytest.mark.parametrize("kind", WRITES)
def test_every_write_waits_for_the_users_lock(database, database_url, users, new_user, kind):
    # Given: a user with a log at version 2 and goals, and the user's lock held by another transaction.
    user = new_user("one-lock")
    log_id = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id
    logs.update_log(database, MACHINE, log_id, LogUpdate(notes="v2"), None)
    goals.set_goals(database, users, MACHINE, user, GoalsPut(weekly_workouts=3), None)
    holder = psycopg2.connect(database_url)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT locked FROM progress_lock_user(%s)", (user,))
            assert cursor.fetchone()[0] is True
        with ThreadPoolExecutor(2) as pool:
            # The control: a read does not wait for the lock.
            page = pool.submit(logs.list_progress, database, MACHINE, user, ListQuery()).result(timeout=10)
            assert len(page.progress_logs) == 1
            # When: the write starts, it waits for the lock...
            write = pool.submit(writes(database, users, user, log_id)[kind])
            assert wait_until(lambda: blocked_by(database_url, holder.get_backend_pid()))
            assert not write.done()
            # ...and goes on once the lock is released.
            holder.commit()
            write.result(timeout=10)
    finally:
        holder.close()


# --- a write that waited for the lock reads what committed meanwhile, in two round trips --------------------------


def counted_while_another_write_commits(
    database_url: str, hold: Callable[[psycopg2.extensions.cursor], object], work: Callable[[Database], object]
) -> tuple[object, list[int]]:
    """`hold` writes in a transaction of its own and stays open; `work` then runs on a database reached through the
    round-trip counter, waits for the user's lock, and finishes once `hold`'s write commits. What `work` returned, and
    its round trips."""
    holder = psycopg2.connect(database_url)
    try:
        hold(holder.cursor())
        with RoundTripCounter(database_url) as counter, ThreadPoolExecutor(1) as pool:
            counted = Database(counter.url(database_url))
            counted.single(lambda cursor: cursor.execute("SELECT 1"))  # connected: only the work's trips count
            with counter.counting() as round_trips:
                working = pool.submit(work, counted)
                assert wait_until(lambda: blocked_by(database_url, holder.get_backend_pid()))
                holder.commit()
                result = working.result(timeout=10)
            pool.submit(counted.close).result()
    finally:
        holder.close()
    return result, round_trips


def test_a_rollback_that_waited_for_the_lock_restores_after_the_write_it_waited_for_in_two_round_trips(
    database, database_url, users, new_user
):
    user = new_user("late-rollback")
    log_id = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id
    logs.update_log(database, MACHINE, log_id, LogUpdate(notes="v2"), None)
    change = appending.Change(actor="holder", request_id=None)

    def hold(cursor):  # version 3, not yet committed
        appending.update(cursor, appending.lock_log(cursor, log_id), {"notes": "v3"}, change)

    restored, round_trips = counted_while_another_write_commits(
        database_url, hold, lambda counted: logs.rollback(counted, MACHINE, log_id, 1, None)
    )
    assert (restored.version, restored.notes) == (4, None)
    assert round_trips == [2]


def test_a_goals_write_that_waited_for_the_lock_follows_the_goals_it_waited_for_in_two_round_trips(
    database, database_url, users, new_user
):
    user = new_user("late-goals")
    goals.set_goals(database, users, MACHINE, user, GoalsPut(weekly_workouts=3), None)

    def hold(cursor):  # the goals at version 2, not yet committed
        goal_events.write(cursor, user, {"weekly_workouts": 4}, "holder", None)

    written, round_trips = counted_while_another_write_commits(
        database_url,
        hold,
        lambda counted: goals.set_goals(
            counted, users, MACHINE, user, GoalsPut(weekly_workouts=5), None, expected_versions=frozenset({2})
        ),
    )
    assert (written.version, written.weekly_workouts) == (3, 5)
    assert round_trips == [2]


def test_a_goals_patch_that_waited_for_the_lock_merges_into_the_goals_it_waited_for_in_two_round_trips(
    database, database_url, users, new_user
):
    user = new_user("late-patch")
    goals.set_goals(database, users, MACHINE, user, GoalsPut(weekly_workouts=3), None)

    def hold(cursor):  # the goals at version 2 with a calories goal too, not yet committed
        goal_events.write(cursor, user, {"weekly_workouts": 4, "weekly_calories_burned": 900}, "holder", None)

    written, round_trips = counted_while_another_write_commits(
        database_url,
        hold,
        lambda counted: goals.patch_goals(
            counted, users, MACHINE, user, GoalsPatch(weekly_workouts=5), None, expected_versions=frozenset({2})
        ),
    )
    # The patch changed its goal only, on top of the write it waited for: that write's calories goal stays.
    assert (written.version, written.weekly_workouts, written.weekly_calories_burned) == (3, 5, 900)
    assert round_trips == [2]


def keyed_post_in_flight(cursor, user: str, body: LogCreate, key: str) -> int:
    """A POST of `body` with an Idempotency-Key on a plain cursor, left uncommitted (its transaction in flight)."""
    from progress_tracking import idempotency
    from progress_tracking.store import idempotency_keys

    claim = idempotency.Claim.of(MACHINE.principal, key, body)
    started = idempotency_keys.claim_new_log(cursor, claim, user)
    assert started.replayed is None
    change = appending.Change(actor=MACHINE.principal, request_id=None)
    log = appending.log_new(cursor, user, body.model_dump(exclude={"user_id"}), change, started.locked)
    idempotency_keys.complete(cursor, claim, log)
    return log.log_id


def test_a_retry_that_waited_for_the_first_request_replays_its_answer_in_two_round_trips(
    database, database_url, users, new_user
):
    user = new_user("late-retry")
    body = entry(user, 5)
    first: list[int] = []
    retried, round_trips = counted_while_another_write_commits(
        database_url,
        lambda cursor: first.append(keyed_post_in_flight(cursor, user, body, "retried-key")),
        lambda counted: logs.log_progress(counted, users, MACHINE, body, None, "retried-key"),
    )
    assert retried.replayed and retried.log.log_id == first[0]
    assert round_trips == [2]


def test_a_batch_that_waited_for_the_lock_finds_the_record_written_meanwhile_in_two_round_trips(
    database, database_url, users, new_user
):
    from progress_tracking.store import upserting

    user = new_user("late-batch")
    record = {"date": "2026-03-02", "weight_kg": 70.0, "client_record_id": "r", "client_version": 3}
    change = appending.Change(actor="holder", request_id=None)

    def hold(cursor):  # the record at client version 3, not yet committed
        upserting.upsert_logs(cursor, user, [LogItem.model_validate(record)], change, None)

    written, round_trips = counted_while_another_write_commits(
        database_url,
        hold,
        lambda counted: upserts.upsert_batch(
            counted, users, MACHINE, user, [LogItem.model_validate({**record, "weight_kg": 80.0})], None
        ),
    )
    assert [(item.outcome, item.log.weight_kg) for item in written.items] == [("unchanged", 70.0)]
    assert round_trips == [2]
