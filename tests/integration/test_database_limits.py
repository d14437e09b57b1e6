"""Time limits inside the database and refused connections: a lock held too long or a database that refuses is a
503 with its code and Retry-After, never a 500 or a hung function; the next request reconnects. These run directly
and, in the pooler pass, through PgBouncer in transaction mode."""

from __future__ import annotations

import time

import psycopg2
import pytest
from psycopg2.extensions import parse_dsn

from progress_tracking import db
from progress_tracking.db import Database
from progress_tracking.errors import DatabaseBusy
from tests.helpers import ALL, VIA_POOLER, assert_error, log


def assert_503(response, code: str) -> None:
    assert_error(response, 503, code)
    assert int(response.headers["Retry-After"]) >= 1


def test_every_transaction_carries_its_statement_and_lock_timeouts(database_url):
    database = Database(database_url)

    def limits(cursor):
        cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
        return cursor.fetchone()

    assert database.run(limits) == (f"{db.STATEMENT_TIMEOUT_MS // 1000}s", f"{db.LOCK_TIMEOUT_MS // 1000}s")
    database.close()


def test_a_statement_running_past_its_timeout_is_database_busy_and_writes_nothing(database_url, new_user):
    database = Database(database_url, statement_timeout_ms=300)
    user = new_user()

    def write_then_sleep(seconds: float):
        def work(cursor):
            cursor.execute("INSERT INTO user_streams (user_id, version) VALUES (%s, 1)", (user,))
            cursor.execute("SELECT pg_sleep(%s)", (seconds,))

        return work

    with pytest.raises(DatabaseBusy):
        database.run(write_then_sleep(2))

    def streams(cursor):
        cursor.execute("SELECT count(*) FROM user_streams WHERE user_id = %s", (user,))
        return cursor.fetchone()[0]

    assert database.run(streams) == 0
    # Positive control: the same work inside the limit commits, on the same (still usable) connection.
    database.run(write_then_sleep(0))
    assert database.run(streams) == 1
    database.close()


def test_a_row_lock_held_too_long_answers_503_database_busy_then_the_change_goes_through(
    api, tokens, new_user, database_url
):
    user = new_user()
    token = tokens.user(user, ALL)
    created = log(api, token, user)
    # Given: another transaction holds the log's row lock (a stuck writer, a long migration).
    holder = psycopg2.connect(database_url)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM progress_logs WHERE log_id = %s FOR UPDATE", (created["log_id"],))
        # When: the API changes that log. Then: 503 database_busy after the lock timeout, nothing written.
        blocked = api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"notes": "blocked"})
        assert_503(blocked, "database_busy")
    finally:
        holder.rollback()
        holder.close()
    # Positive control: with the lock released the same change succeeds, at version 2 (the blocked one wrote nothing).
    done = api.call("PUT", f"/api/progress/log/{created['log_id']}", token, json={"notes": "done"})
    assert done.status_code == 200, done.text
    assert done.json()["updated_log"]["version"] == 2


def _set_allow_connections(server_url: str, database_url: str, allowed: bool) -> None:
    name = parse_dsn(database_url)["dbname"]
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:  # every open connection goes too, as when the server restarts or the pooler drops them
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
    admin.close()


def test_a_refused_connection_answers_503_database_unavailable_and_the_next_request_reconnects(
    api, tokens, new_user, postgres_server_url, direct_database_url
):
    user = new_user()
    token = tokens.user(user, ALL)
    log(api, token, user)
    # Given: the database refuses every new connection and the warm ones are gone.
    _set_allow_connections(postgres_server_url, direct_database_url, False)
    try:
        refused = api.call("GET", f"/api/progress/{user}", token)
        assert_503(refused, "database_unavailable")
        write = api.call(
            "POST", "/api/progress/log", token, json={"user_id": user, "date": "2026-02-01", "weight_kg": 70}
        )
        assert_503(write, "database_unavailable")
    finally:
        _set_allow_connections(postgres_server_url, direct_database_url, True)
    # Positive control: once it accepts connections again, the next request reconnects (through the pooler, once
    # PgBouncer's server_login_retry of 1 s has passed) and sees one log only: the refused write wrote nothing.
    deadline = time.monotonic() + (10 if VIA_POOLER else 0)
    listed = api.call("GET", f"/api/progress/{user}", token)
    while listed.status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
        listed = api.call("GET", f"/api/progress/{user}", token)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["progress_logs"]) == 1
