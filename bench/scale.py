"""Scale benchmarks: a data set built with SQL (sizes as flags), then the costs that must stay flat or linear.

    python -m bench scale [--users 2000] [--logs-per-user 20] [--big 100000] [--runs 15]

`--users 10000 --logs-per-user 100 --big 100000` gives about a million events. Everything here runs in-process against
the layer (no HTTP), so the numbers are the database work and the layer's own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from localdev.databases import postgres_server, scratch_database

SMALL_USER, MEDIUM_USER, BIG_USER, TINY_USER = "scale-1k", "scale-10k", "scale-big", "scale-10"


def build_dataset(cursor: Any, users: int, logs_per_user: int, sizes: dict[str, int]) -> int:
    """`users` users with `logs_per_user` daily logs each, plus one user per entry of `sizes`: one `logged` event per
    log, the projections (logs and their states in time) and the streams, written set-based. Returns the number of
    events."""
    cursor.execute(
        "CREATE TEMP TABLE plan (user_id text, n int) ON COMMIT DROP;"
        "INSERT INTO plan SELECT 'scale-user-' || u, n FROM generate_series(1, %(users)s) AS u,"
        " generate_series(1, %(logs)s) AS n;"
        "INSERT INTO plan SELECT s.key, n FROM jsonb_each_text(%(sizes)s::jsonb) AS s,"
        " generate_series(1, s.value::int) AS n;"
        "CREATE TEMP TABLE planned ON COMMIT DROP AS SELECT nextval('progress_log_id_seq') AS log_id, user_id,"
        " date '2026-11-28' - n AS date, 60 + mod(n, 400) / 10.0 AS weight_kg,"
        " (ARRAY['running', 'yoga', 'cycling'])[1 + mod(n, 3)] AS workout_done,"
        " (200 + mod(n, 300))::float8 AS calories_burned,"
        " now() - make_interval(days => n) AS at FROM plan;"
        "INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at)"
        " SELECT log_id, user_id, 1, 'logged', jsonb_build_object('date', date, 'weight_kg', weight_kg,"
        "  'workout_done', workout_done, 'calories_burned', calories_burned, 'notes', NULL), 'bench', NULL, at"
        " FROM planned ORDER BY at;"
        "INSERT INTO progress_logs (log_id, user_id, date, weight_kg, workout_done, calories_burned, notes, version,"
        " created_at, updated_at)"
        " SELECT log_id, user_id, date, weight_kg, workout_done, calories_burned, NULL, 1, at, at FROM planned;"
        "INSERT INTO progress_log_versions (log_id, version, user_id, date, weight_kg, workout_done, calories_burned,"
        " notes, created_at, valid_from)"
        " SELECT log_id, 1, user_id, date, weight_kg, workout_done, calories_burned, NULL, at, at FROM planned;"
        "INSERT INTO user_streams (user_id, version, last_at)"
        " SELECT user_id, nextval('user_stream_version_seq'), max(at) FROM planned GROUP BY user_id;"
        "SELECT count(*) FROM planned",
        {"users": users, "logs": logs_per_user, "sizes": json.dumps(sizes)},
    )
    return int(cursor.fetchone()[0])


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def timed_ms(runs: int, call: Callable[[], object], before: Callable[[int], object] | None = None) -> list[float]:
    """`call` timed `runs` times; `before(n)`, when given, runs untimed before each."""
    samples = []
    for n in range(runs):
        if before is not None:
            before(n)
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def line(name: str, value: str) -> None:
    print(f"{name:<58} {value}")


def vacuum(url: str, table: str = "") -> None:
    import psycopg2

    maintenance = psycopg2.connect(url)
    maintenance.autocommit = True
    maintenance.cursor().execute(f"VACUUM ANALYZE {table}")
    maintenance.close()


def run(args: argparse.Namespace) -> None:
    from progress_tracking import logs, summaries
    from progress_tracking.authz import Identity
    from progress_tracking.config import get_settings
    from progress_tracking.db import BATCH_STATEMENT_TIMEOUT_MS, Database
    from progress_tracking.migrations import migrate
    from progress_tracking.models.log import ListQuery
    from progress_tracking.models.summary import SummaryQuery

    sizes = {TINY_USER: 10, SMALL_USER: 1000, MEDIUM_USER: 10_000, BIG_USER: args.big}
    caller = Identity(principal="bench@clients", scopes=frozenset({"read:progress"}), user_id=None, is_client=True)
    with postgres_server(args.scratch) as server, scratch_database(server, "progress_scale") as url:
        database = Database(url)
        # The build and the recompute run with the scheduled function's limits (the build's with more still).
        batch = Database(url, statement_timeout_ms=BATCH_STATEMENT_TIMEOUT_MS)
        builder = Database(url, statement_timeout_ms=3_600_000)
        migrate(database)
        started = time.perf_counter()
        events = builder.run(lambda cursor: build_dataset(cursor, args.users, args.logs_per_user, sizes))
        builder.close()
        # What autovacuum does to tables in production: statistics, and the visibility map index-only scans rely on.
        vacuum(url)
        print(
            f"\n== Scale: {events:,} events, {args.users + len(sizes):,} users "
            f"(built in {time.perf_counter() - started:.1f} s) =="
        )

        # The scheduled recompute catching up from nothing, against a plain GROUP BY over the same logs: Postgres runs
        # that on its parallel workers (2 by default), the recompute on SUMMARY_RECOMPUTE_CONNECTIONS connections; each
        # also on one (the GROUP BY without parallel workers), the pairs measured in this one run.
        plain = "SELECT user_id, count(*), avg(weight_kg), sum(calories_burned) FROM progress_logs GROUP BY user_id"
        group_by = timed_ms(3, lambda: database.run(lambda cursor: cursor.execute(plain)))
        serial_group_by = timed_ms(
            3,
            lambda: database.run(
                lambda cursor: cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0; " + plain)
            ),
        )
        connections = get_settings().summary_recompute_connections
        catch_up: dict[int, float] = {}
        for workers in (1, connections):
            database.run(summaries.reset)
            vacuum(url, "progress_summaries")  # each catch-up starts from the same empty table
            started = time.perf_counter()
            report = summaries.recompute(batch, lambda: 10**9, connections=workers)
            catch_up[workers] = (time.perf_counter() - started) * 1000
            assert report.finished and report.users == args.users + len(sizes), report
        line(
            "plain GROUP BY over every log, parallel / serial",
            f"{p50(group_by):8.1f} / {p50(serial_group_by):8.1f} ms",
        )
        line(
            f"recompute catch-up on {connections} / 1 connections ({report.batches} chunks, {report.users:,} users)",
            f"{catch_up[connections]:8.1f} / {catch_up[1]:8.1f} ms",
        )
        line(
            f"  ratio catch-up / GROUP BY ({connections} connections / parallel)",
            f"{catch_up[connections] / p50(group_by):10.1f}x (finished in one run: {report.finished})",
        )
        line("  ratio catch-up / GROUP BY (1 connection / serial)", f"{catch_up[1] / p50(serial_group_by):10.1f}x")
        # An incremental run after 100 users logged once more: proportional to those users, not to the log.
        from progress_tracking.store import appending

        change = appending.Change(actor="bench", request_id=None)
        for n in range(100):
            database.run(
                lambda cursor, n=n: appending.log_new(
                    cursor, f"scale-user-{n + 1}", {"date": date(2026, 12, 1), "weight_kg": 70.0}, change
                )
            )
        started = time.perf_counter()
        report = summaries.recompute(batch, lambda: 10**9)
        line(
            f"incremental recompute after 100 users logged ({report.users} recomputed)",
            f"{(time.perf_counter() - started) * 1000:10.1f} ms",
        )

        def as_of_page(user: str) -> Callable[[], object]:
            query = ListQuery.model_validate({"limit": 100, "as_of": datetime.now(UTC).isoformat()})
            return lambda: logs.list_progress(database, caller, user, query)

        small = p50(timed_ms(args.runs, as_of_page(SMALL_USER)))
        big = p50(timed_ms(args.runs, as_of_page(BIG_USER)))
        line(f"as_of first page, 1,000 vs {args.big:,} logs", f"{small:8.1f} vs {big:8.1f} ms: {big / small:.2f}x")

        # Paging to the end of an as_of result: the last pages cost what the first ones do when paging is linear.
        as_of = datetime.now(UTC).isoformat()
        page_ms: list[float] = []
        cursor_token = None
        while True:
            params: dict[str, Any] = {"limit": 1000, "as_of": as_of}
            if cursor_token:
                params["cursor"] = cursor_token
            query = ListQuery.model_validate(params)
            started = time.perf_counter()
            page = logs.list_progress(database, caller, MEDIUM_USER, query)
            page_ms.append((time.perf_counter() - started) * 1000)
            cursor_token = page.next_cursor
            if not cursor_token:
                break
        line(
            f"as_of paging through 10,000 logs ({len(page_ms)} pages of 1000)",
            f"{sum(page_ms):8.1f} ms; last / first page {page_ms[-1] / page_ms[0]:.2f}x",
        )

        # A stale summary read right after a write (one more day's log, or an edit of an old log): only the read is
        # timed, the write before it is not.
        def summary(user: str) -> Callable[[], object]:
            return lambda: summaries.summarize(database, caller, user, SummaryQuery.model_validate({}))

        def new_day(user: str) -> Callable[[int], object]:
            return lambda n: database.run(
                lambda cursor: appending.log_new(
                    cursor, user, {"date": date(2027, 1, 1) + timedelta(days=n), "weight_kg": 70.0}, change
                )
            )

        def old_edited(user: str) -> Callable[[int], object]:
            def oldest(cursor: Any) -> int:
                cursor.execute("SELECT min(log_id) FROM progress_logs WHERE user_id = %s", (user,))
                return int(cursor.fetchone()[0])

            log_id = database.run(oldest)
            return lambda n: database.run(
                lambda cursor: appending.update(
                    cursor, appending.lock_log(cursor, log_id), {"weight_kg": 60.0 + n}, change
                )
            )

        # The writes themselves, timed apart: each keeps the facts of the month it touched (the logs' triggers).
        def timed_write(write: Callable[[int], object], into: list[float]) -> Callable[[int], object]:
            return lambda n: into.extend(timed_ms(1, lambda: write(n)))

        for write, what in ((new_day, "a new day's log"), (old_edited, "an edit of an old log")):
            writes: dict[str, list[float]] = {TINY_USER: [], MEDIUM_USER: []}
            tiny = p50(timed_ms(args.runs, summary(TINY_USER), timed_write(write(TINY_USER), writes[TINY_USER])))
            medium = p50(
                timed_ms(args.runs, summary(MEDIUM_USER), timed_write(write(MEDIUM_USER), writes[MEDIUM_USER]))
            )
            line(
                f"stale summary after {what}, 10 vs 10,000 logs",
                f"{tiny:8.1f} vs {medium:8.1f} ms: {medium / tiny:.2f}x",
            )
            tiny, medium = p50(writes[TINY_USER]), p50(writes[MEDIUM_USER])
            line("  the write itself, 10 vs 10,000 logs", f"{tiny:8.1f} vs {medium:8.1f} ms: {medium / tiny:.2f}x")

        # The same with weekly goals met every week of the users' history: a streak as long as it gets.
        from progress_tracking.store import goal_events

        weekly = {"target_weight_kg": 65.0, "weekly_workouts": 3, "weekly_calories_burned": 1000.0}
        for user in (TINY_USER, MEDIUM_USER):
            database.run(lambda cursor, user=user: goal_events.write(cursor, user, weekly, "bench", None))
        tiny = p50(timed_ms(args.runs, summary(TINY_USER), old_edited(TINY_USER)))
        medium = p50(timed_ms(args.runs, summary(MEDIUM_USER), old_edited(MEDIUM_USER)))
        line(
            "stale summary with weekly goals after an edit, 10 vs 10,000",
            f"{tiny:8.1f} vs {medium:8.1f} ms: {medium / tiny:.2f}x",
        )

        month = {"from": (date(2026, 11, 28) - timedelta(days=30)).isoformat(), "to": "2026-11-28"}

        def ranged(user: str) -> Callable[[], object]:
            return lambda: summaries.summarize(database, caller, user, SummaryQuery.model_validate(month))

        small = p50(timed_ms(args.runs, ranged(SMALL_USER)))
        big = p50(timed_ms(args.runs, ranged(BIG_USER)))
        line(f"summary of one month, 1,000 vs {args.big:,} logs", f"{small:8.1f} vs {big:8.1f} ms: {big / small:.2f}x")
        database.close()
        batch.close()


def main(argv: list[str]) -> None:
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--logs-per-user", type=int, default=20)
    parser.add_argument("--big", type=int, default=100_000, help="logs of the largest user")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        args.scratch = Path(scratch)
        run(args)
