"""Helpers shared by test modules: the template's API, sample requests, error checks, and the local app as a process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from localdev.template import load_api
from progress_tracking.authz import Identity

if TYPE_CHECKING:
    from progress_tracking.db import Database

ROOT = Path(__file__).resolve().parents[2]
# The pooler pass (`make test` runs it after the direct one): the database suites again, every connection through
# PgBouncer in transaction mode, as Neon's pooled endpoint serves the functions.
VIA_POOLER = os.environ.get("TEST_VIA_POOLER") == "1"
TEST_ISSUER = "https://tenant.test.invalid/"
TEST_AUDIENCE = "https://progress-api.test.invalid"
API = load_api(ROOT / "template.yaml")
FUNCTIONS = {spec.code_dir.name: spec for spec in API.functions.values()}  # by folder name, e.g. "log_progress"
MACHINE = Identity(principal="tester@clients", scopes=frozenset({"admin:progress"}), user_id=None, is_client=True)
ALL = "read:progress write:progress delete:progress"
FIRST_VERSION_BODY = {"date": "2026-01-05", "weight_kg": 82.4, "workout_done": "Running", "calories_burned": 510}


def log(api, token, user_id, **fields):
    body = {"user_id": user_id, **FIRST_VERSION_BODY, **fields}
    response = api.call("POST", "/api/progress/log", token, json=body)
    assert response.status_code == 201, response.text
    return response.json()["log"]


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def count_rows(database: Database, user_id: str) -> dict[str, int]:
    """The rows naming the user in every table with a `user_id` column, by table: a table added later is counted too.
    All but the erasure tombstones, which name an erased user until the relay has published the erasure."""

    def read(cursor):
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND column_name = 'user_id' AND table_name <> 'erasure_tombstones' ORDER BY 1"
        )
        counts = {}
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT count(*) FROM {table} WHERE user_id = %s", (user_id,))
            counts[table] = cursor.fetchone()[0]
        return counts

    return database.run(read)


def stream_version(database: Database, user_id: str) -> int:
    """The user's stream version (0 for a user with no stream)."""

    def read(cursor) -> int:
        cursor.execute("SELECT coalesce(max(version), 0) FROM user_streams WHERE user_id = %s", (user_id,))
        return int(cursor.fetchone()[0])

    return database.run(read)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class App:
    """`progress_tracking_app.py` as a process on `port` (a free one by default), bound to `host` (reached at
    127.0.0.1 when that is a wildcard); `root` is the checkout it runs from (this one by default)."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str],
        *args: str,
        host: str = "127.0.0.1",
        port: int | None = None,
        root: Path = ROOT,
    ) -> None:
        self.port = port or free_port()
        reached = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
        self.url = f"http://{reached}:{self.port}"
        self.data_dir = data_dir
        self.env = env
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-u",
                "progress_tracking_app.py",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                "--host",
                host,
                *args,
            ],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.banner = self._read_banner()
        # Read on as it comes: the app prints a log line or two and its EMF metrics per request, and a pipe nobody
        # reads fills up (64 KiB) and blocks the app in the middle of a request.
        self._output: list[str] = []
        self._reader = threading.Thread(target=self._output.extend, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _read_banner(self) -> str:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops it." in line:
                return "".join(lines)
        self.process.kill()
        raise AssertionError("the app did not start:\n" + "".join(lines))

    def token_from_banner(self) -> str:
        return re.search(r"Authorize box:\n  (\S+)", self.banner).group(1)

    def mint(self, *args: str) -> str:
        command = [sys.executable, "progress_tracking_app.py", "--data-dir", str(self.data_dir), "token", *args]
        return subprocess.run(
            command, cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout.strip()

    def stop(self) -> str:
        """Stops the app; what it printed after its banner."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        output = "".join(self._output)
        assert self.process.returncode == 0, output
        return output


def write_to_logs(database: Database, users, user_id: str, step: tuple, created: list[int]) -> None:
    """One random write of the property tests: ("log", fields), ("update", n, fields), ("delete", n),
    ("rollback", n, version) or ("delete_all",), on the n-th log created (modulo). A write the service refuses (a log
    without a measurement, deleting or rolling back what cannot be) writes nothing and is let pass."""
    from pydantic import ValidationError

    from progress_tracking import logs
    from progress_tracking.errors import InvalidRequest, InvalidRollback, LogNotFound
    from progress_tracking.models.log import LogCreate, LogUpdate

    try:
        if step[0] == "log":
            entry = LogCreate.model_validate_json(json.dumps({"user_id": user_id, **step[1]}))
            created.append(logs.log_progress(database, users, MACHINE, entry, None).log.log_id)
        elif created and step[0] == "update":
            update = LogUpdate.model_validate_json(json.dumps(step[2]))
            logs.update_log(database, MACHINE, created[step[1] % len(created)], update, None)
        elif created and step[0] == "delete":
            logs.delete_log(database, MACHINE, created[step[1] % len(created)], None)
        elif created and step[0] == "rollback":
            logs.rollback(database, MACHINE, created[step[1] % len(created)], step[2], None)
        elif step[0] == "delete_all":
            logs.delete_user_logs(database, MACHINE, user_id, None)
    except (LogNotFound, InvalidRollback, InvalidRequest, ValidationError):
        pass


def rows_read_by_a_summary_read(database: Database, user: str) -> dict[str, int]:
    """How many rows of each table a stale summary's fold reads (the function the read runs, migration 0016; EXPLAIN
    ANALYZE runs it). A node's rows removed by its filter are per loop, as its actual rows are. Planned as for tables
    of a real size: the test database's few thousand logs, with statistics of whenever they were last gathered, can
    make a scan of the whole table look cheaper than the index, and then every log is read."""
    from datetime import UTC, datetime

    from progress_tracking.db import one_row

    def explain(cursor):
        cursor.execute(
            "SET LOCAL enable_seqscan = off;"
            " EXPLAIN (ANALYZE, FORMAT JSON) SELECT facts FROM progress_summary_from_months(%(user)s, %(at)s)",
            {"user": user, "at": datetime.now(UTC)},
        )
        return one_row(cursor)[0][0]["Plan"]

    read: dict[str, int] = {}

    def visit(node: dict) -> None:
        if "Relation Name" in node:  # the rows it returned and those it read and left out
            rows = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            read[node["Relation Name"]] = read.get(node["Relation Name"], 0) + rows * node["Actual Loops"]
        for child in node.get("Plans", []):
            visit(child)

    visit(database.run(explain))
    return read


def goal_facts(database: Database, user: str, at):
    """The user's goal facts at the time `at` (the function the summary's fold reads them with), or None."""
    from progress_tracking.models.facts import GoalFacts

    def read(cursor):
        cursor.execute("SELECT facts FROM progress_goal_facts(%s, %s)", (user, at))
        row = cursor.fetchone()
        return None if row is None else GoalFacts.model_validate(row[0])

    return database.run(read)


def assert_weekly_progress_is_that_of_every_week(database: Database, user: str, computed_at) -> None:
    """The user's weekly goals' progress from their goal facts computed at `computed_at` (the weeks from the one
    before on, and the run before them) equals the progress from every week of their logs, on every day from the week
    before `computed_at` to weeks after it. The user has weekly goals and logs in more weeks than the facts list."""
    from datetime import timedelta

    from progress_tracking import goal_progress

    def every_week(cursor):
        cursor.execute(
            "SELECT date_trunc('week', date::timestamp)::date, count(workout_done), coalesce(sum(calories_burned), 0)"
            " FROM progress_logs WHERE user_id = %s GROUP BY 1 ORDER BY 1",
            (user,),
        )
        return cursor.fetchall()

    facts = goal_facts(database, user, computed_at)
    every = facts.model_copy(update={"weeks": database.run(every_week), "weeks_from": None})
    assert facts.weeks_from is not None  # the control: the facts hold the weeks from there on only
    first = computed_at.date() - timedelta(days=7)
    for day in (first + timedelta(days=n) for n in range(0, 7 * 8, 2)):
        assert goal_progress.progress(facts, day) == goal_progress.progress(every, day), day


def wait_for_the_horizon(database: Database, seconds: float = 30) -> None:
    """Until every transaction begun before this call has ended, wherever on the server: the recompute and the relay
    read only below that horizon, which another test's or another run's open transaction holds back."""

    def now(cursor) -> int:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return int(cursor.fetchone()[0])

    def passed(cursor, tx: int) -> bool:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint > %s", (tx,))
        return bool(cursor.fetchone()[0])

    tx = database.run(now)
    deadline = time.monotonic() + seconds
    while not database.run(lambda cursor: passed(cursor, tx)):
        assert time.monotonic() < deadline, f"a transaction on the server has been open for {seconds} s"
        time.sleep(0.05)


def reset_layer_singletons() -> None:
    """Forget the layer's per-container objects (settings, databases, verifier, client): the environment changed."""
    from progress_tracking import config, db, tokens, user_service

    for cached in (
        config.get_settings,
        db.get_database,
        db.get_batch_database,
        tokens.cached_verifier,
        user_service.get_user_service,
    ):
        cached.cache_clear()


def tombstones(database: Database, user_id: str) -> int:
    """How many erasure tombstones name the user (until the relay has published the erasure)."""

    def work(cursor):
        cursor.execute("SELECT count(*) FROM erasure_tombstones WHERE user_id = %s", (user_id,))
        return cursor.fetchone()[0]

    return database.run(work)


def blocked_by(database_url: str, holder_pid: int) -> bool:
    """Whether some backend waits for a lock the holder's backend holds."""
    import psycopg2

    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", (holder_pid,))
            return bool(cursor.fetchone()[0])
    finally:
        connection.close()


def wait_until(condition: Callable[[], bool], attempts: int = 1000) -> bool:
    """Polls until the condition holds (a bound, not a timing assertion: the outcome is asserted afterwards)."""
    for _ in range(attempts):
        if condition():
            return True
        time.sleep(0.01)
    return False
