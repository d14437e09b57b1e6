"""The requests the capacity and derived-table benches run, as pgbench scripts made from the service's own round
trips (recorded through the app: bench/recording.py; turned into scripts: bench/scripts.py), and the floor a write is
compared with.

Each endpoint is recorded twice on the data set of bench/dataset.py, with another user (and log, date, key) the
second time; what varies per transaction is then drawn by pgbench: `user_n` among the data set's users, a log id
among its logs, a POST's day among the last two months logged.
"""

from __future__ import annotations

from typing import Any

import psycopg2

from bench.dataset import USER_NAME
from bench.recording import AppRecorder
from bench.scripts import Input, Script, script_from_recordings

# A day of the last two months the data set logged (October and November 2026, days 1-27), as YYYYMMDD: Postgres
# reads that as a date, and pgbench draws only integers.
POST_DAY = "20260000 + random(10, 11) * 100 + random(1, 27)"
# An Idempotency-Key no other transaction uses: this run's nonce, the client and its own count (k, from 0).
KEY_NUMBER = ":nonce * 1000000 + :client_id * 100000 + :k"

# The floor a write is measured against: one plain INSERT of a log's row (the projection's columns) into a table
# with one index, its own transaction. Its columns must be the projection's (checked against the schema).
FLOOR_TABLE = """
CREATE TABLE capacity_floor (LIKE progress_logs INCLUDING DEFAULTS);
ALTER TABLE capacity_floor ADD PRIMARY KEY (log_id);
CREATE SEQUENCE capacity_floor_log_id_seq
"""
FLOOR_COLUMNS = (
    "log_id",
    "user_id",
    "date",
    "weight_kg",
    "workout_done",
    "calories_burned",
    "notes",
    "version",
    "created_at",
    "updated_at",
    "weight_lb",
    "source",
    "device",
)
FLOOR_INSERT = """\\set user_n random(1, :users)
\\set ymd 20260000 + random(10, 11) * 100 + random(1, 27)
INSERT INTO capacity_floor
    (log_id, user_id, date, weight_kg, workout_done, calories_burned, notes, version, created_at, updated_at,
     weight_lb, source, device)
VALUES
    (nextval('capacity_floor_log_id_seq'), 'scale-user-:user_n', ':ymd', 80.5, 'running', 300, NULL, 1, now(), now(),
     NULL, 'manual', NULL);
"""


def create_floor(url: str) -> None:
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT array_agg(column_name::text ORDER BY ordinal_position) FROM information_schema.columns"
                " WHERE table_name = 'progress_logs'"
            )
            (columns,) = cursor.fetchone()
            if tuple(columns) != FLOOR_COLUMNS:
                raise RuntimeError(f"progress_logs' columns are now {columns}: bring FLOOR_COLUMNS and FLOOR_INSERT up")
            cursor.execute(FLOOR_TABLE)
    finally:
        connection.close()


def _user(first: int, second: int) -> Input:
    return Input("user_n", "random(1, :users)", (first, second), USER_NAME.format(":user_n"))


def _entry(user: int, day: str) -> dict[str, Any]:
    return {
        "user_id": USER_NAME.format(user),
        "date": day,
        "weight_kg": 80.5,
        "workout_done": "running",
        "calories_burned": 300,
    }


def _log_of(url: str, user: int, day: str) -> int:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT log_id FROM progress_logs WHERE user_id = %s AND date = %s", (USER_NAME.format(user), day)
            )
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def capacity_scripts(recorder: AppRecorder, url: str) -> dict[str, Script]:
    """Each endpoint's script, recorded on users 1-12 of the data set (every user has logs on 2026-11-26 and 27)."""
    scripts: dict[str, Script] = {}
    days = ("2026-10-05", "2026-11-12")
    post = [
        recorder.call("POST", "/api/progress/log", body=_entry(user, day))[1]
        for user, day in zip((1, 2), days, strict=True)
    ]
    scripts["POST log"] = script_from_recordings(
        "POST /api/progress/log", *post, [_user(1, 2), Input("ymd", POST_DAY, days)]
    )

    keyed = [
        recorder.call(
            "POST", "/api/progress/log", body=_entry(user, day), headers={"Idempotency-Key": f"bench-key-{n}"}
        )[1]
        for n, (user, day) in enumerate(zip((9, 10), days, strict=True), start=1)
    ]
    scripts["POST log, Idempotency-Key"] = script_from_recordings(
        "POST /api/progress/log with an Idempotency-Key",
        *keyed,
        [
            _user(9, 10),
            Input("ymd", POST_DAY, days),
            Input("k", ":k + 1"),
            Input("key_n", KEY_NUMBER, (1, 2), "bench-key-:key_n"),
        ],
    )

    # Two logs that differ in everything: another user, day, workout, calories, and version (the second one is
    # edited once first), so that every value the second round trip reads from the first is told apart.
    first, second = _log_of(url, 3, "2026-11-27"), _log_of(url, 4, "2026-11-26")
    recorder.call("PUT", f"/api/progress/log/{second}", body={"weight_kg": 79.0})
    put = [recorder.call("PUT", f"/api/progress/log/{log}", body={"weight_kg": 79.9})[1] for log in (first, second)]
    scripts["PUT log"] = script_from_recordings(
        "PUT /api/progress/log/{log_id}", *put, [Input("log_id", "random(:first_log, :last_log)", (first, second))]
    )

    pages = [
        recorder.call("GET", f"/api/progress/{USER_NAME.format(user)}", params={"limit": "100"})[1] for user in (5, 6)
    ]
    scripts["GET list page"] = script_from_recordings("GET /api/progress/{user_id}?limit=100", *pages, [_user(5, 6)])

    window = {"bucket": "week", "from": "2026-09-01", "to": "2026-11-30"}
    series = [
        recorder.call("GET", f"/api/progress/series/{USER_NAME.format(user)}", params=window)[1] for user in (5, 6)
    ]
    scripts["GET series"] = script_from_recordings(
        "GET /api/progress/series/{user_id}?bucket=week (13 weeks)", *series, [_user(5, 6)]
    )

    # The same statement serves a current and a stale summary: the data decides (stale here: none stored yet).
    summaries = [recorder.call("GET", f"/api/progress/summary/{USER_NAME.format(user)}")[1] for user in (7, 8)]
    scripts["GET summary"] = script_from_recordings("GET /api/progress/summary/{user_id}", *summaries, [_user(7, 8)])
    return scripts


def per_user_reads(recorder: AppRecorder, users: tuple[str, str], as_of: str) -> dict[str, Script]:
    """The reads the derived tables serve, for one user named by the variable `user_id` (run with run_once)."""
    requests = {
        "list page": ("/api/progress/{}", {"limit": "100"}),
        "as_of page": ("/api/progress/{}", {"limit": "100", "as_of": as_of}),
        "summary": ("/api/progress/summary/{}", None),
        "summary from every log": ("/api/progress/summary/{}", {"from": "0001-01-01", "to": "9999-12-31"}),
    }
    return {name: _per_user(recorder, users, name, path, params) for name, (path, params) in requests.items()}


def goals_read(recorder: AppRecorder, users: tuple[str, str]) -> Script:
    """GET goals of one user named by the variable `user_id` (who has goals)."""
    return _per_user(recorder, users, "goals", "/api/progress/goals/{}", None)


def _per_user(
    recorder: AppRecorder, users: tuple[str, str], name: str, path: str, params: dict[str, str] | None
) -> Script:
    recorded = [recorder.call("GET", path.format(user), params=params)[1] for user in users]
    return script_from_recordings(name, *recorded, [Input("user_id", "", users)])
