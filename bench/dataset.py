"""The data set the capacity and derived-table benches run on: the schema as `migrate` makes it, then users and their
daily logs written set-based with SQL (bench/scale.py's build: events, the projection, the logs' states in time and
the streams; the projection's triggers keep the month and week facts), then `VACUUM ANALYZE` as autovacuum would.

The schema comes from the app's own command line (`progress_tracking_app.py migrate`), so nothing here depends on how
the layer is laid out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from bench.scale import build_dataset, vacuum

ROOT = Path(__file__).resolve().parent.parent
# Users are named scale-user-1 … scale-user-N (bench/scale.py), so a script picks one with `scale-user-:user_n`.
USER_NAME = "scale-user-{}"
# Their n-th log is dated this many days before 2026-11-28 (bench/scale.py), one a day.
LAST_DAY_LOGGED = "2026-11-27"


def migrate(url: str) -> None:
    environment = {**os.environ, "DATABASE_URL": url, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    subprocess.run(
        [sys.executable, "progress_tracking_app.py", "migrate"],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
    )


def build(url: str, users: int, logs_per_user: int, single_users: dict[str, int] | None = None) -> float:
    """Migrate, then `users` users with `logs_per_user` daily logs each (one transaction), then each of
    `single_users` (name: logs) in a transaction of its own, in order; the seconds it took."""
    started = time.perf_counter()
    migrate(url)
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            build_dataset(cursor, users, logs_per_user, {})
        for name, logs in (single_users or {}).items():
            with connection, connection.cursor() as cursor:
                build_dataset(cursor, 0, 0, {name: logs})
    finally:
        connection.close()
    vacuum(url)
    return time.perf_counter() - started


def size(url: str) -> tuple[int, int]:
    """The data set's logs, and the bytes of every table of the schema with its indexes."""
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM progress_logs),"
                " (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class AS c"
                "  JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r')"
            )
            logs, total = cursor.fetchone()
            return int(logs), int(total)
    finally:
        connection.close()


def autovacuum_off(url: str) -> None:
    """No autovacuum on the data set's tables while the runs measure: its work (an ANALYZE reads thousands of pages)
    would land in whichever run it happened in. The data set was vacuumed and analyzed after its build."""
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            for (table,) in cursor.fetchall():
                cursor.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(sql.Identifier(table)))
    finally:
        connection.close()


def server_settings(url: str) -> str:
    """What the numbers depend on, to print beside them."""
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('server_version'), current_setting('fsync'),"
                " current_setting('synchronous_commit'), current_setting('shared_buffers')"
            )
            version, fsync, synchronous_commit, shared_buffers = cursor.fetchone()
    finally:
        connection.close()
    warning = " (fsync=off: commits cost less than on a durable server)" if fsync == "off" else ""
    return (
        f"Postgres {version}, fsync={fsync}{warning}, synchronous_commit={synchronous_commit}, "
        f"shared_buffers={shared_buffers}; autovacuum off on the data set while the runs measure"
    )
