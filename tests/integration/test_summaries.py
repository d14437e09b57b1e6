"""The summary projection on a real Postgres: never served stale, recomputed incrementally on a schedule, resumable
after a crash, and safe when two runs overlap."""

from __future__ import annotations

import math
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from itertools import chain

import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progress_tracking import summaries
from progress_tracking.db import Database, one_row
from progress_tracking.models.facts import SummaryFacts
from progress_tracking.store import appending, checkpoints, goal_events, summary_facts
from tests.helpers import (
    MACHINE,
    assert_weekly_progress_is_that_of_every_week,
    log,
    rows_read_by_a_summary_read,
    wait_for_the_horizon,
    write_to_logs,
)


def add_log(database: Database, user_id: str, day: int, weight: float = 70.0) -> None:
    change = appending.Change(actor="t", request_id=None)
    database.run(lambda c: appending.log_new(c, user_id, {"date": date(2026, 2, day), "weight_kg": weight}, change))


def stored(database: Database, user_id: str):
    return database.run(lambda cursor: summary_facts.stored_summary(cursor, user_id))


def plenty_of_time() -> int:
    return 600_000


def drain(database: Database, settle: bool = True) -> summaries.RecomputeReport:
    """A recompute run to the end; with `settle`, once every transaction begun before it has ended, wherever on the
    server: the recompute reads the streams moved below the horizon, which another test's or another run's open
    transaction holds back (without `settle`, a test's own open transaction holds it, on purpose)."""
    if settle:
        wait_for_the_horizon(database)
    return summaries.recompute(database, plenty_of_time)


def test_a_summary_is_never_older_than_the_users_latest_event(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    log(api, token, user, weight_kg=80.0)
    assert api.call("GET", f"/api/progress/summary/{user}", token).json()["log_count"] == 1
    version_then = stored(database, user)[0]
    log(api, token, user, weight_kg=78.0)  # the stored summary is now behind; no recompute has run
    body = api.call("GET", f"/api/progress/summary/{user}", token).json()
    assert (body["log_count"], body["latest_weight_kg"]) == (2, 78.0)
    assert stored(database, user)[0] == version_then + 1


def test_a_date_range_summary_is_computed_on_demand(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    for day, weight in [(1, 80.0), (2, 79.0), (3, 78.0)]:
        log(api, token, user, date=f"2026-01-0{day}", weight_kg=weight)
    body = api.call("GET", f"/api/progress/summary/{user}", token, params={"from": "2026-01-02", "to": "2026-01-03"})
    assert body.status_code == 200
    assert (body.json()["log_count"], body.json()["average_weight"]) == (2, 78.5)
    assert (
        api.call(
            "GET", f"/api/progress/summary/{user}", token, params={"from": "2026-02-01", "to": "2026-01-01"}
        ).status_code
        == 400
    )


def test_the_recompute_updates_exactly_the_users_with_new_events(database):
    drain(database)
    users = [f"sum-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for n, user in enumerate(users):
        add_log(database, user, n + 1)
        add_log(database, user, n + 2)
    report = drain(database)
    assert (report.changed, report.users, report.finished) == (3, 3, True)
    assert all(stored(database, user)[1].log_count == 2 for user in users)
    add_log(database, users[0], 9)
    report = drain(database)
    assert (report.changed, report.users) == (1, 1)
    assert stored(database, users[0])[1].log_count == 3
    assert drain(database).changed == 0


def test_a_run_killed_half_way_resumes_where_it_stopped(database, monkeypatch):
    drain(database)
    users = [f"crash-{uuid.uuid4().hex[:8]}" for _ in range(6)]
    for user in users:
        add_log(database, user, 1)
    checkpoint_before = database.run(lambda c: checkpoints.read_checkpoint(c, summaries.CHECKPOINT))

    # Given a run that dies in its third chunk of users, after computing their summaries, before moving the checkpoint.
    real_refresh = summary_facts.refresh_stale
    calls = {"n": 0}

    def dying_refresh(cursor, user_ids, at):
        calls["n"] += 1
        facts = real_refresh(cursor, user_ids, at)
        if calls["n"] == 3:
            raise RuntimeError("the Lambda was killed here")
        return facts

    monkeypatch.setattr(summary_facts, "refresh_stale", dying_refresh)
    with pytest.raises(RuntimeError):
        summaries.recompute(database, plenty_of_time, chunk_users=2)
    monkeypatch.setattr(summary_facts, "refresh_stale", real_refresh)

    done = [user for user in users if stored(database, user) is not None]
    assert sorted(done) == sorted(users)[:4]  # two whole chunks committed; the third rolled back with its summaries
    checkpoint_mid = database.run(lambda c: checkpoints.read_checkpoint(c, summaries.CHECKPOINT))
    assert checkpoint_mid == checkpoint_before  # the window was not finished: it is read again

    # Then: the next run reads the same window and recomputes only the two users the dead one had not reached.
    report = summaries.recompute(database, plenty_of_time, chunk_users=2)
    assert (report.finished, report.changed, report.users) == (True, 6, 2)
    assert all(stored(database, user)[1].log_count == 1 for user in users)
    assert database.run(lambda c: checkpoints.read_checkpoint(c, summaries.CHECKPOINT)) > checkpoint_before


def test_a_run_on_several_connections_recomputes_every_user_once(database):
    drain(database)
    users = [f"side-{uuid.uuid4().hex[:8]}" for _ in range(9)]
    for n, user in enumerate(users):
        add_log(database, user, 1)
        add_log(database, user, 2 + n % 3)
    checkpoint_before = database.run(lambda c: checkpoints.read_checkpoint(c, summaries.CHECKPOINT))
    report = summaries.recompute(database, plenty_of_time, chunk_users=2, connections=3)
    assert (report.finished, report.changed, report.batches, report.users) == (True, 9, 5, 9)
    assert all(stored(database, user)[1].log_count == 2 for user in users)
    assert database.run(lambda c: checkpoints.read_checkpoint(c, summaries.CHECKPOINT)) > checkpoint_before
    assert drain(database).changed == 0


def test_a_chunk_failing_on_one_connection_leaves_the_checkpoint_for_the_next_run(database, monkeypatch):
    drain(database)
    users = [f"sidecrash-{uuid.uuid4().hex[:8]}" for _ in range(8)]
    for user in users:
        add_log(database, user, 1)
    checkpoint_before = database.run(lambda c: checkpoints.read_checkpoint(c, summaries.CHECKPOINT))
    real_refresh = summary_facts.refresh_stale
    doomed = sorted(users)[4:6]  # the third chunk of two, whichever connection takes it

    def dying_refresh(cursor, user_ids, at):
        facts = real_refresh(cursor, user_ids, at)
        if user_ids == doomed:
            raise RuntimeError("this chunk's transaction failed")
        return facts

    monkeypatch.setattr(summary_facts, "refresh_stale", dying_refresh)
    with pytest.raises(RuntimeError):
        summaries.recompute(database, plenty_of_time, chunk_users=2, connections=2)
    monkeypatch.setattr(summary_facts, "refresh_stale", real_refresh)

    assert all(stored(database, user) is None for user in doomed)  # rolled back with its transaction
    assert database.run(lambda c: checkpoints.read_checkpoint(c, summaries.CHECKPOINT)) == checkpoint_before
    missing = [user for user in users if stored(database, user) is None]
    report = summaries.recompute(database, plenty_of_time, chunk_users=2, connections=2)
    assert (report.finished, report.changed, report.users) == (True, 8, len(missing))
    assert all(stored(database, user)[1].log_count == 1 for user in users)


def test_a_second_run_finds_the_lock_taken_while_the_first_one_recomputes_on_other_connections(
    database, database_url, monkeypatch
):
    drain(database)
    users = [f"held-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    for user in users:
        add_log(database, user, 1)
    # Given a run whose chunks are all under way on their own connections (and held there)...
    real_refresh = summary_facts.refresh_stale
    started, release = threading.Barrier(3), threading.Event()

    def held_refresh(cursor, user_ids, at):
        started.wait(timeout=10)
        release.wait(timeout=10)
        return real_refresh(cursor, user_ids, at)

    monkeypatch.setattr(summary_facts, "refresh_stale", held_refresh)
    first_database = Database(database_url)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(summaries.recompute, first_database, plenty_of_time, chunk_users=2, connections=2)
        started.wait(timeout=10)
        # ...a second run at the same time finds the run's lock taken and stops without recomputing anything.
        second_database = Database(database_url)
        second = summaries.recompute(second_database, plenty_of_time)
        release.set()
        report = first.result(timeout=30)
        pool.submit(first_database.close).result()  # its lock's connection lives on the pool's thread
    monkeypatch.setattr(summary_facts, "refresh_stale", real_refresh)
    assert (second.busy, second.users, second.changed) == (True, 0, 0)
    assert (report.busy, report.finished, report.users) == (False, True, 4)
    # The control: once the first run is done, the lock is free and a run goes through.
    assert summaries.recompute(second_database, plenty_of_time).busy is False
    second_database.close()


def test_a_run_stops_starting_chunks_when_time_runs_short(database):
    drain(database)
    for n in range(5):
        add_log(database, f"time-{uuid.uuid4().hex[:8]}", n + 1)
    budget = iter([60_000, 60_000, 60_000, 60_000, 1_000])  # the lock, the window, then each chunk of two
    report = summaries.recompute(database, lambda: next(budget), chunk_users=2)
    assert (report.batches, report.users, report.finished) == (2, 4, False)
    assert drain(database).users == 1


@pytest.mark.parametrize("connections", [1, 2])
def test_two_runs_at_once_do_not_step_on_each_other(database, database_url, connections):
    drain(database)
    users = [f"twice-{uuid.uuid4().hex[:8]}" for _ in range(30)]
    for user in users:
        add_log(database, user, 1)
    barrier = threading.Barrier(2)

    def run(_: int) -> summaries.RecomputeReport:
        db = Database(database_url)
        barrier.wait()
        report = summaries.recompute(db, plenty_of_time, chunk_users=1, connections=connections)
        db.close()
        return report

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(run, range(2)))
    assert sum(report.users for report in reports) == 30  # every user recomputed once between them
    drain(database)
    assert all(stored(database, user)[1].log_count == 1 for user in users)


def test_old_idempotency_keys_expire_when_a_run_finishes(database):
    def plant(cursor):
        cursor.execute(
            "INSERT INTO idempotency_keys (principal, key, user_id, request_hash, created_at)"
            " VALUES ('p', %s, 'u', 'h', now() - interval '2 days')",
            (f"old-{uuid.uuid4()}",),
        )

    database.run(plant)
    assert drain(database).expired_idempotency_keys >= 1


def moved_in_one_transaction(database: Database, user_ids: list[str]) -> None:
    change = appending.Change(actor="t", request_id=None)

    def work(cursor):
        for user_id in user_ids:
            appending.log_new(cursor, user_id, {"date": date(2026, 2, 1), "weight_kg": 70.0}, change)

    database.run(work)


def follow_to_the_end(database: Database, start: checkpoints.Checkpoint, limit: int) -> list[list[str]]:
    windows, checkpoint = [], start
    while True:
        window = database.run(lambda cursor: checkpoints.changed_streams(cursor, checkpoint, limit))
        if not window.users:
            assert not window.full
            return windows
        windows.append(window.users)
        checkpoint = window.end
        if not window.full:
            return windows


def test_a_goal_change_alone_brings_the_user_into_the_next_recompute(api, tokens, new_user, database):
    user = new_user()
    token = tokens.user(user)
    log(api, token, user, weight_kg=80.0)
    drain(database)
    assert stored(database, user)[1].goals is None
    response = api.call("PUT", f"/api/progress/goals/{user}", token, json={"target_weight_kg": 75.0})
    assert response.status_code == 200, response.text
    report = drain(database)  # no log was written: only the goals moved the user's stream
    assert (report.changed, report.users) == (1, 1)
    assert stored(database, user)[1].goals is not None


def test_the_recompute_never_skips_a_user_whose_write_commits_late(database, database_url):
    drain(database)
    early_user, late_user = f"late-a-{uuid.uuid4().hex[:6]}", f"late-b-{uuid.uuid4().hex[:6]}"
    # Given: a write that began first (the older transaction) still open while a later one commits.
    early = psycopg2.connect(database_url)
    change = appending.Change(actor="t", request_id=None)
    appending.log_new(early.cursor(), early_user, {"date": date(2026, 2, 1), "weight_kg": 70.0}, change)
    add_log(database, late_user, 1)

    def changed_tx(cursor):
        cursor.execute("SELECT changed_tx::text::bigint FROM user_streams WHERE user_id = %s", (late_user,))
        return one_row(cursor)[0]

    early_tx = early.cursor()
    early_tx.execute("SELECT pg_current_xact_id()::text::bigint")
    # The trap: the later stream is visible with the newer transaction; a checkpoint there would pass the older one.
    assert early_tx.fetchone()[0] < database.run(changed_tx)
    # The recompute reads neither yet: the older transaction is still running.
    assert drain(database, settle=False).changed == 0
    early.commit()
    early.close()
    report = drain(database)
    assert (report.changed, report.users) == (2, 2)
    assert stored(database, early_user)[1].log_count == stored(database, late_user)[1].log_count == 1


@pytest.mark.parametrize("limit", [1, 3, 7, 1000])
def test_windows_of_moved_streams_hold_every_moved_user_once_whatever_their_size(database, limit):
    drain(database)
    start = database.run(lambda cursor: checkpoints.read_checkpoint(cursor, summaries.CHECKPOINT))
    singles = [f"window-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    together = sorted(f"window-together-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for user in singles[:2]:
        add_log(database, user, 1)
    moved_in_one_transaction(database, together)
    for user in singles[2:]:
        add_log(database, user, 2)
    add_log(database, singles[0], 3)  # moved again: still one user to recompute
    # (Streams are read only below the horizon, which a transaction anywhere on the server holds back: wait for it.)
    deadline = time.monotonic() + 30
    while len(list(chain(*follow_to_the_end(database, start, 10**6)))) < 8:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    windows = follow_to_the_end(database, start, limit)
    assert sorted(chain(*windows)) == sorted(singles + together)  # every moved user, once
    assert all(len(window) <= limit for window in windows)
    # The control that windows do split the streams (one transaction's too): ceil(8 / limit) of them.
    assert len(windows) == -(-8 // limit)


def test_any_write_that_moves_a_stream_version_brings_the_user_into_the_next_recompute(database):
    user = f"moved-{uuid.uuid4().hex[:8]}"
    add_log(database, user, 1)
    drain(database)

    def changed_tx(cursor):
        cursor.execute("SELECT changed_tx::text::bigint FROM user_streams WHERE user_id = %s", (user,))
        return one_row(cursor)[0]

    before = database.run(changed_tx)
    # The control: the writers' lock-only upsert leaves the stream as it was.
    database.run(
        lambda cursor: cursor.execute(
            "INSERT INTO user_streams (user_id, version) VALUES (%s, 0)"
            " ON CONFLICT (user_id) DO UPDATE SET version = user_streams.version",
            (user,),
        )
    )
    assert database.run(changed_tx) == before and drain(database).changed == 0
    # A version moved by a statement that says nothing of changed_tx (code from before migration 0008, say).
    database.run(
        lambda cursor: cursor.execute(
            "UPDATE user_streams SET version = nextval('user_stream_version_seq') WHERE user_id = %s", (user,)
        )
    )
    assert database.run(changed_tx) > before
    assert (drain(database).changed, stored(database, user)[0]) == (1, database.run(lambda c: stream_version(c, user)))


def stream_version(cursor, user: str) -> int:
    cursor.execute("SELECT version FROM user_streams WHERE user_id = %s", (user,))
    return one_row(cursor)[0]


def test_a_run_holds_its_lock_without_holding_up_a_migration(database, database_url, monkeypatch):
    drain(database)
    add_log(database, f"migrating-{uuid.uuid4().hex[:8]}", 1)
    # Given a run between reading its window and starting its chunks (its lock held, no chunk in flight)...
    real_chunks, reached, release = summaries._recompute_chunks, threading.Event(), threading.Event()

    def held_chunks(*args, **kwargs):
        reached.set()
        release.wait(timeout=10)
        return real_chunks(*args, **kwargs)

    monkeypatch.setattr(summaries, "_recompute_chunks", held_chunks)
    run_database = Database(database_url)
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(summaries.recompute, run_database, plenty_of_time, connections=2)
        assert reached.wait(timeout=10)
        migration = psycopg2.connect(database_url)
        try:
            cursor = migration.cursor()
            # The control: the run's lock is held.
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", (summaries.RECOMPUTE_LOCK_KEY,))
            assert cursor.fetchone()[0] is False
            migration.rollback()
            # ...a migration's strongest table lock on the tables the run reads is granted at once.
            cursor.execute("SET lock_timeout = 500")
            cursor.execute(
                "LOCK TABLE user_streams, projector_checkpoints, progress_summaries IN ACCESS EXCLUSIVE MODE"
            )
            migration.rollback()
        finally:
            migration.close()
            release.set()
        assert run.result(timeout=30).finished
        pool.submit(run_database.close).result()


# --- a summary folded from the months' facts ---------------------------------------------------------------------

# Sums of floats depend on the order they are added in: a summary folded from the months' sums may differ from one
# computed from the logs in the last bits of its sums and averages (the API rounds them to two decimals). Everything
# else is exact.
FLOAT_FACTS = {"average_weight", "average_calories", "total_calories"}


def assert_same_facts(folded: SummaryFacts, from_logs: SummaryFacts) -> None:
    mine, theirs = folded.model_dump(exclude={"goals"}), from_logs.model_dump(exclude={"goals"})
    for key in mine:
        if key in FLOAT_FACTS and mine[key] is not None and theirs[key] is not None:
            assert math.isclose(mine[key], theirs[key], rel_tol=1e-12), key
        else:
            assert mine[key] == theirs[key], key


def folded_and_from_logs(database: Database, user: str) -> tuple[SummaryFacts, ...]:
    """The facts a summary read answers (folded from the months, and stored), and the facts of every log read from
    the logs themselves (what a ranged summary computes)."""
    folded = database.run(lambda cursor: summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)))
    return folded, database.run(lambda cursor: summary_facts.facts_in_range(cursor, user))


def months_rewritten_by(database: Database, write) -> list[date]:
    """The months whose facts the write's transaction rewrote (their rows' xmin is its transaction id)."""

    def work(cursor):
        write(cursor)
        cursor.execute("SELECT month FROM progress_log_months WHERE xmin = pg_current_xact_id()::xid ORDER BY month")
        return [row[0] for row in cursor.fetchall()]

    return database.run(work)


def log_id_of(database: Database, user: str, day: date) -> int:
    def read(cursor):
        cursor.execute("SELECT log_id FROM progress_logs WHERE user_id = %s AND date = %s", (user, day))
        return one_row(cursor)[0]

    return database.run(read)


def test_a_stale_summary_reads_the_months_and_no_log_whatever_the_change(database):
    user = f"months-{uuid.uuid4().hex[:8]}"
    change = appending.Change(actor="t", request_id=None)

    def many(cursor):
        for day in range(300):  # 2025-01-01 … 2025-10-27: ten months
            entry = {"date": date(2025, 1, 1) + timedelta(days=day), "weight_kg": 60 + day % 11, "workout_done": "Run"}
            appending.log_new(cursor, user, entry, change)

    database.run(many)
    old = log_id_of(database, user, date(2025, 3, 1))

    def edit(cursor):
        appending.update(cursor, appending.lock_log(cursor, old), {"weight_kg": 99.0, "date": date(2025, 5, 9)}, change)

    # An edit that moves an old log to another month rewrites those two months' facts, and no others...
    assert months_rewritten_by(database, edit) == [date(2025, 3, 1), date(2025, 5, 1)]
    # ...and the stale summary then reads the ten months, the three workout kinds' counts, and not one log.
    read = rows_read_by_a_summary_read(database, user)
    assert read.get("progress_logs", 0) == 0
    assert (read["progress_log_months"], read["progress_workout_counts"]) >= (10, 1)
    folded, from_logs = folded_and_from_logs(database, user)
    assert_same_facts(folded, from_logs)
    assert (folded.max_weight, folded.log_count, folded.longest_streak) == (99.0, 300, 240)
    assert (folded.first_weight, folded.latest_weight, folded.workouts) == (60.0, 62.0, {"run": 300})
    # The control: reads of progress_logs are counted; a weight goal's facts read a few (its start, the latest weight
    # and the trend's window), still not every log.
    database.run(lambda cursor: goal_events.write(cursor, user, {"target_weight_kg": 70.0}, "t", None))
    assert 0 < rows_read_by_a_summary_read(database, user)["progress_logs"] < 100


DAYS = st.integers(0, 8)  # few days, so that logs make streaks, join them and fall before the last one
new_logs = st.fixed_dictionaries(
    {
        "weight_kg": st.one_of(st.none(), st.floats(30, 200), st.sampled_from([70.1, 70.2, 0.1 + 70])),
        "workout_done": st.one_of(st.none(), st.sampled_from(["Run", "run ", "Swim", " yoga"])),
        "calories_burned": st.one_of(st.none(), st.floats(0, 5000, allow_subnormal=False), st.just(0.1)),
    }
)
# Each step, and whether a summary is read after it.
summary_steps = st.lists(
    st.tuples(
        st.one_of(
            st.tuples(st.just("log"), DAYS, new_logs),  # any day: after the last, the same, or back-dated
            st.tuples(st.just("log"), st.integers(0, 48), new_logs),  # weeks apart: runs of weeks, joined by later logs
            st.tuples(st.just("next"), st.integers(0, 2), new_logs),  # the last day, the next, or after a gap
            st.tuples(st.just("next"), st.integers(0, 2), new_logs),
            st.tuples(st.just("update"), st.integers(0, 9), new_logs),
            st.tuples(st.just("delete"), st.integers(0, 9)),
            st.tuples(st.just("rollback"), st.integers(0, 9), st.integers(1, 3)),
            st.tuples(st.just("delete_all")),
            st.tuples(st.just("goals"), st.floats(40, 120)),
        ),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=summary_steps)
def test_a_summary_folded_from_the_months_equals_one_from_every_log(database, user_profile, steps):
    from progress_tracking import goals
    from progress_tracking.models.goal import GoalsPut
    from progress_tracking.user_service import UserServiceClient

    user = f"mergeprop-{uuid.uuid4().hex[:10]}"
    user_profile.known.add(user)
    users = UserServiceClient(user_profile.base_url)
    created: list[int] = []
    first_day = date(2026, 1, 27)  # the days logged cross a month's end, and streaks with them
    last_day = first_day
    for step, read_after in steps:
        if step[0] in ("log", "next"):
            day = first_day + timedelta(days=step[1]) if step[0] == "log" else last_day + timedelta(days=step[1])
            write_to_logs(database, users, user, ("log", {"date": day.isoformat(), **step[2]}), created)
            last_day = max(last_day, day)
        elif step[0] == "goals":
            goals.set_goals(
                database, users, MACHINE, user, GoalsPut.model_validate({"target_weight_kg": step[1]}), None
            )
        else:
            write_to_logs(database, users, user, step, created)
        if read_after:
            assert_same_facts(*folded_and_from_logs(database, user))
    assert_same_facts(*folded_and_from_logs(database, user))
    # The weeks kept for weekly goals, and their runs, against every week of the logs, computed as of days within
    # and after the weeks logged.
    weekly = {"weekly_workouts": 1, "weekly_calories_burned": 100.0}
    database.run(lambda cursor: goal_events.write(cursor, user, weekly, "t", None))
    for week in range((last_day - first_day).days // 7 + 3):
        day = first_day + timedelta(weeks=week)
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        assert_weekly_progress_is_that_of_every_week(database, user, at)


def test_a_summary_of_the_smallest_numbers_a_float_holds_is_answered(database):
    # Found by the fuzzer: calories of 5e-324 (the smallest subnormal) added up and divided by their count underflow
    # to zero, which float8 division refuses with an error (a 500).
    user = f"tiny-{uuid.uuid4().hex[:8]}"
    change = appending.Change(actor="t", request_id=None)
    for day, calories in ((1, 5e-324), (2, 0.0), (3, 0.0)):  # an average of a third of the smallest: zero
        entry = {"date": date(2026, 2, day), "weight_kg": 70.0, "calories_burned": calories}
        database.run(lambda cursor, entry=entry: appending.log_new(cursor, user, entry, change))
    facts = database.run(lambda cursor: summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)))
    assert facts.total_calories == 5e-324 and facts.average_calories == pytest.approx(0, abs=1e-300)
    # The control: ordinary numbers are averaged as before.
    assert (facts.log_count, facts.average_weight) == (3, 70.0)


def test_a_summary_left_without_a_stream_is_never_served(database):
    # Given a stored summary whose user has no stream (what a race with an erasure could leave behind)...
    user = f"orphan-{uuid.uuid4().hex[:8]}"
    add_log(database, user, 1, weight=100.0)
    database.run(lambda cursor: summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)))
    for table in ("progress_events", "progress_logs", "progress_log_versions", "user_streams"):  # all but the summary
        database.run(lambda cursor, table=table: cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", (user,)))
    # ...it is not what a read answers: the user has no logs.
    facts = database.run(lambda cursor: summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)))
    assert (facts.log_count, facts.average_weight) == (0, None)
    assert stored(database, user)[1].log_count == 1  # the control: the leftover is there
    database.run(lambda cursor: cursor.execute("DELETE FROM progress_summaries WHERE user_id = %s", (user,)))
    # (A summary cannot be left so any more: an erasure deletes it under the user's lock, which storing one waits for.)


def test_an_average_keeps_every_digit_of_its_sum(database):
    user = f"digits-{uuid.uuid4().hex[:8]}"
    add_log(database, user, 1, weight=70.12345678901234)
    facts = database.run(lambda cursor: summary_facts.current_or_fresh(cursor, user, datetime.now(UTC)))
    assert facts.average_weight == facts.min_weight == 70.12345678901234
