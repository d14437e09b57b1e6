"""Export and import at scale: a user of each size built with SQL (bench/scale.py's builder), exported whole page by
page, then imported page by page into a new user, in-process against the layer (no HTTP) with the API functions'
statement timeout, so every page's statement is shown to fit the request limits.

    python -m bench portability [--sizes 1000,100000]

Prints, per size: the pages, the total time and the time per 1,000 logs (flat when the cost is linear in the data),
the slowest page, for the JSON export, the CSV export and the import (with a second import of the same pages, which
changes nothing).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from localdev.databases import postgres_server, scratch_database
from localdev.stubs import UserProfileStub


def _dates_a_log_may_have(cursor) -> None:
    """The builder dates a user's logs a day apart back from 2026, past 1900 beyond 45,000 logs: an import refuses
    those (as a POST does), so the logs here fall within the last 100 years, a few a day."""
    cursor.execute(
        "UPDATE progress_logs SET date = date '2026-11-28' - (log_id % 36500)::int WHERE user_id LIKE 'portability-%';"
        "UPDATE progress_log_versions SET date = date '2026-11-28' - (log_id % 36500)::int"
        " WHERE user_id LIKE 'portability-%';"
        "UPDATE progress_events"
        " SET data = jsonb_set(data, '{date}', to_jsonb(date '2026-11-28' - (log_id % 36500)::int))"
        " WHERE user_id LIKE 'portability-%'"
    )


def _export_all(database, caller, user: str, fmt: str) -> tuple[list[str], list[float]]:
    """Every page of the user's export as its body text, and each page's time (ms)."""
    from progress_tracking import exports
    from progress_tracking.models.export import ExportQuery

    bodies, times, cursor = [], [], None
    while True:
        started = time.perf_counter()
        page = exports.export(database, caller, user, ExportQuery(format=fmt, cursor=cursor))
        if isinstance(page, exports.CsvPage):
            body, cursor = page.text, page.next_cursor
        else:
            body, cursor = page.model_dump_json(), page.next_cursor
        times.append((time.perf_counter() - started) * 1000)
        bodies.append(body)
        if cursor is None:
            return bodies, times


def _import_all(database, users, caller, user: str, pages: list[str]) -> tuple[dict[str, int], list[float]]:
    from progress_tracking import imports
    from progress_tracking.models.export import ImportQuery

    totals = {"created": 0, "unchanged": 0}
    times = []
    for body in pages:
        if not json.loads(body)["logs"] and not json.loads(body)["goals"]:
            continue  # a page of events alone: nothing to import
        started = time.perf_counter()
        result = imports.import_file(database, users, caller, user, ImportQuery(), body, "application/json", None)
        times.append((time.perf_counter() - started) * 1000)
        totals["created"] += result.created
        totals["unchanged"] += result.unchanged
    return totals, times


def _line(name: str, logs: int, times: list[float]) -> None:
    total = sum(times)
    print(
        f"  {name:<34} {len(times):>4} pages {total / 1000:8.2f} s  {total / logs * 1000:7.1f} ms per 1,000 logs"
        f"  slowest page {max(times):7.1f} ms"
    )


def run(sizes: list[int], scratch: Path) -> None:
    from bench.scale import build_dataset, vacuum
    from progress_tracking.authz import Identity
    from progress_tracking.db import Database
    from progress_tracking.migrations import migrate
    from progress_tracking.user_service import UserServiceClient

    caller = Identity(
        principal="bench@clients", scopes=frozenset({"read:progress", "write:progress"}), user_id=None, is_client=True
    )
    with (
        postgres_server(scratch) as server,
        scratch_database(server, "progress_portability") as url,
        UserProfileStub() as profile,
    ):
        database = Database(url)  # the API functions' limits: each page's statement must fit them
        migrate(database)
        builder = Database(url, statement_timeout_ms=3_600_000)
        builder.run(lambda cursor: build_dataset(cursor, 0, 0, {f"portability-{n}": n for n in sizes}))
        builder.run(_dates_a_log_may_have)
        builder.close()
        vacuum(url)  # the statistics autovacuum keeps in production: the planner then reads each range in order
        users = UserServiceClient(profile.base_url, cache_seconds=60)
        print("\n== Export and import (in-process, the API functions' statement timeout) ==")
        for size in sizes:
            user = f"portability-{size}"
            print(f" {size:,} logs ({size:,} events)")
            pages, times = _export_all(database, caller, user, "json")
            _line("export, JSON", size, times)
            _, csv_times = _export_all(database, caller, user, "csv")
            _line("export, CSV", size, csv_times)
            target = f"{user}-imported"
            totals, import_times = _import_all(database, users, caller, target, pages)
            assert totals["created"] == size, totals
            _line("import of the JSON pages", size, import_times)
            again, again_times = _import_all(database, users, caller, target, pages)
            assert again["unchanged"] == size, again
            _line("the same import again (no change)", size, again_times)
        database.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench portability", description=__doc__)
    parser.add_argument("--sizes", default="1000,100000", help="logs of each user, comma-separated")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        run([int(size) for size in args.sizes.split(",")], Path(scratch) / "pg")
