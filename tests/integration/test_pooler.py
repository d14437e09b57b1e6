"""PgBouncer in transaction mode really is in front in the pooler pass, and it would catch a session-level feature:
session state set by one client reaches another, and a session advisory lock is not held. Directly on Postgres (the
positive control) each client has a session of its own. The service's unit of work leaves nothing on the session."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg2
import pytest
from psycopg2.extensions import make_dsn

from localdev.pgbouncer import SINGLE_SESSION_ALIAS, pooled_url
from progress_tracking.db import Database

LAYER = Path(__file__).resolve().parents[2] / "layers" / "progress_tracking" / "progress_tracking"


@pytest.fixture
def through_pooler(postgres_server_url, pooler):
    """Two clients of a pool of one server connection: they take turns on a single server session."""
    return pooled_url(make_dsn(postgres_server_url, dbname=SINGLE_SESSION_ALIAS), pooler)


def client(url: str):
    connection = psycopg2.connect(url)
    connection.autocommit = True  # every statement its own transaction: the pooler may switch sessions in between
    return connection


def scalar(connection, query: str, *args):
    with connection.cursor() as cursor:
        cursor.execute(query, args)
        return cursor.fetchone()[0]


@pytest.mark.parametrize("via", ["pooler", "direct"])
def test_a_set_outside_a_transaction_leaks_to_another_client_only_through_the_pooler(
    via, through_pooler, postgres_server_url
):
    url = through_pooler if via == "pooler" else postgres_server_url
    first, second = client(url), client(url)
    try:
        default = scalar(second, "SHOW statement_timeout")
        scalar(first, "SELECT set_config('statement_timeout', '4321ms', false)")  # a session-level SET
        seen = scalar(second, "SHOW statement_timeout")
    finally:
        first.cursor().execute("RESET statement_timeout")
        first.close()
        second.close()
    if via == "pooler":
        assert seen == "4321ms"  # another client's setting: relying on SET would be a bug the pooler pass catches
    else:
        assert seen == default  # positive control: a session of its own


@pytest.mark.parametrize("via", ["pooler", "direct"])
def test_a_session_advisory_lock_is_not_exclusive_through_the_pooler(via, through_pooler, postgres_server_url):
    url = through_pooler if via == "pooler" else postgres_server_url
    first, second = client(url), client(url)
    key = 7_146_251_999
    try:
        assert scalar(first, "SELECT pg_try_advisory_lock(%s)", key)
        # The second client "gets" the lock the first one holds when both share the server session.
        taken_too = scalar(second, "SELECT pg_try_advisory_lock(%s)", key)
    finally:
        for connection in (first, second):
            scalar(connection, "SELECT pg_advisory_unlock_all() IS NULL")
            connection.close()
    assert taken_too is (via == "pooler")


def test_the_service_unit_of_work_leaves_nothing_on_the_shared_session(through_pooler, postgres_server_url):
    # Given: the service's Database through the single-session pool, and a second client on the same session.
    database = Database(through_pooler)
    other = client(through_pooler)
    try:
        default = scalar(other, "SHOW statement_timeout"), scalar(other, "SHOW lock_timeout")

        def inside(cursor):
            cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
            return cursor.fetchone()

        limits = database.run(inside)
        # Then: the limits held inside the transaction (SET LOCAL) and ended with it.
        assert limits != default
        assert (scalar(other, "SHOW statement_timeout"), scalar(other, "SHOW lock_timeout")) == default
    finally:
        database.close()
        other.close()


def test_the_layer_uses_no_session_level_feature():
    forbidden = {
        "session advisory lock": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
        "LISTEN/NOTIFY": re.compile(r"\b(LISTEN|UNLISTEN)\s+\w", re.I),
        "prepared statement": re.compile(r"\bPREPARE\s+\w+\s+(AS|\()", re.I),
        # A SET command begins a statement (after a quote, a semicolon, a comment line or the file's start); the SET
        # clause of an UPDATE written one clause a line does not.
        "SET outside a transaction": re.compile(
            r"(\A|[\"';]|--[^\n]*\n)\s*SET\s+(?!LOCAL\b)(SESSION\s+)?\w+\s*(=|TO)\s", re.I
        ),
        "set_config for the session": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.I),
    }
    # Positive control: each rule catches the thing it names.
    samples = {
        "session advisory lock": 'cursor.execute("SELECT pg_advisory_lock(%s)", (1,))',
        "LISTEN/NOTIFY": 'cursor.execute("LISTEN progress")',
        "prepared statement": 'cursor.execute("PREPARE get_log AS SELECT 1")',
        "SET outside a transaction": 'cursor.execute("SET statement_timeout = 5000")',
        "set_config for the session": "cursor.execute(\"SELECT set_config('lock_timeout', '1s', false)\")",
    }
    assert {what for what, sample in samples.items() if forbidden[what].search(sample)} == set(forbidden)
    assert forbidden["SET outside a transaction"].search('"""\nSELECT 1;\n    SET lock_timeout = 0\n"""')
    assert forbidden["SET outside a transaction"].search("SELECT 1;\n-- why\nSET lock_timeout = 0;")
    assert not forbidden["SET outside a transaction"].search('"""\nUPDATE user_streams\nSET version = 1\n"""')
    sources = {path.name: path.read_text() for path in LAYER.rglob("*.py")} | {
        path.name: path.read_text() for path in LAYER.rglob("*.sql")
    }
    found = [(name, what) for name, text in sources.items() for what, rule in forbidden.items() if rule.search(text)]
    assert found == []


def test_the_pooler_keeps_answering_after_many_connections(postgres_server_url):
    # PgBouncer logs every login and disconnection to stderr as well; a pipe nobody read filled after a few hundred
    # connections and blocked PgBouncer on its next write, so every client after that hung. A pooler of its own, so
    # the count starts at zero; each connect in a thread, so that a hang fails the test instead of stalling it.
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import TimeoutError as Timeout

    from localdev.pgbouncer import pgbouncer

    with ThreadPoolExecutor(1) as pool, pgbouncer(postgres_server_url) as address:  # the pooler stops first
        url = pooled_url(make_dsn(postgres_server_url, dbname="postgres"), address)
        answered = 0
        for _ in range(1500):  # a pipe of 64 kB held some 200
            try:
                pool.submit(lambda: client(url).close()).result(timeout=10)
            except Timeout:
                break
            answered += 1
        assert answered == 1500
