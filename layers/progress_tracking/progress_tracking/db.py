"""Postgres connections: one per container (per thread locally), reused while warm, reopened when broken.

Everything here works through a transaction-mode pooler (Neon's pooled endpoint is PgBouncer): each unit of work is
one transaction, its time limits are `SET LOCAL` inside it, and nothing is left on the session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar, cast

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from progress_tracking import database_url, deadline, snapstart
from progress_tracking.deadline import CLIENT_MARGIN_SECONDS, ClientTimeout, Deadline
from progress_tracking.errors import DatabaseBusy, DatabaseUnavailable
from progress_tracking.observability import logger
from progress_tracking.transaction_cursor import (
    LOCK_TIMEOUT_MS,
    STATEMENT_TIMEOUT_MS,
    Cursor,
    TransactionCursor,
    defer,
    one_row,
    rows_by_name,
)

__all__ = [
    "CLIENT_MARGIN_SECONDS",
    "LOCK_TIMEOUT_MS",
    "STATEMENT_TIMEOUT_MS",
    "ClientTimeout",
    "Cursor",
    "Database",
    "defer",
    "one_row",
    "rows_by_name",
]

T = TypeVar("T")

# The time budget of an API function (template Timeout 12 s, checked by tests/unit/test_time_budget.py):
#   User Profile check 3 s + connect 2 x 2 s with a 0.5 s pause + two statements x 2 s = 11.5 s.
# libpq's smallest connect timeout is 2 s; the one retry covers Neon's compute waking from scale-to-zero.
CONNECT_TIMEOUT_SECONDS = 2
CONNECT_ATTEMPTS = 2
CONNECT_RETRY_PAUSE_SECONDS = 0.5
# Postgres's answers that mean "too busy right now, nothing was written": a 503 database_busy, never a 500.
_BUSY = (psycopg2.errors.LockNotAvailable, psycopg2.errors.QueryCanceled, psycopg2.errors.DeadlockDetected)


class Database:
    """Runs units of work in transactions.

    Lambda runs one request at a time per container, so one connection per container is enough; the local
    gateway serves requests on several threads, so the connection is per thread and never shared.
    """

    def __init__(
        self,
        dsn: str | Callable[[], str],
        *,
        statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
        lock_timeout_ms: int = LOCK_TIMEOUT_MS,
    ) -> None:
        deadline.install()  # the client-side deadline of every connection below
        self._dsn = dsn
        self._local = threading.local()
        self._time_limits = {
            "statement_timeout_ms": str(int(statement_timeout_ms)),
            "lock_timeout_ms": str(int(lock_timeout_ms)),
        }
        self._client_timeout = statement_timeout_ms / 1000 + CLIENT_MARGIN_SECONDS

    def single(self, work: Callable[[Cursor], T]) -> T:
        """Run `work`, which sends exactly one statement, in one round trip: the statement is its own transaction
        (with the time limits). For reads, and for single-statement writes that are safe to send twice (a warm
        connection found broken is retried once, as in `run`)."""
        return self._unit(work, single=True)

    def run(self, work: Callable[[Cursor], T]) -> T:
        """Run `work` in one transaction and commit it; any exception rolls everything back.

        The transaction begins, with its time limits, in the same round trip as its first statement; the statements
        `work` defers (`db.defer`) go with the COMMIT, so a write of one read and some writes is two round trips.
        A statement that runs out of time or waits too long for a lock is DatabaseBusy; a database that cannot be
        reached is DatabaseUnavailable; both roll back, so nothing is written. A warm connection may have been
        closed by the server or the pooler while idle: when that shows before the commit was sent, nothing was
        written, so the work is retried once on a fresh connection.
        """
        return self._unit(work, single=False)

    def _unit(self, work: Callable[[Cursor], T], *, single: bool) -> T:
        for attempt in (1, 2):
            connection, reused = self._connection()
            committing = False
            try:
                with cast(TransactionCursor, connection.cursor()) as cursor:
                    cursor.time_limits = self._time_limits
                    cursor.single = single
                    cursor.client_timeout = self._client_timeout
                    result = work(cursor)
                    committing = not single
                    if not single and (cursor.began or cursor.deferred):
                        cursor.execute("COMMIT")
                        if cursor.statusmessage != "COMMIT":  # the work swallowed an error: Postgres rolled back
                            raise RuntimeError(f"the transaction ended with {cursor.statusmessage}, not COMMIT")
                return result
            except _BUSY as exc:
                self._rollback(connection)
                logger.warning("Database busy", extra={"error": type(exc).__name__})
                raise DatabaseBusy() from exc
            except ClientTimeout as exc:
                self._discard(connection, rollback=False)
                logger.error("Database did not answer in time", extra={"committing": committing})
                raise DatabaseUnavailable() from exc
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                broken = connection.closed != 0
                self._discard(connection, rollback=not broken)
                if broken and reused and not committing and attempt == 1:
                    logger.warning("Database connection was closed while idle; retrying on a new one")
                    continue
                logger.error("Database unavailable", extra={"error": type(exc).__name__})
                raise DatabaseUnavailable() from exc
            except BaseException:
                self._rollback(connection)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            self._discard(connection, rollback=False)

    def _connection(self) -> tuple[psycopg2.extensions.connection, bool]:
        connection = getattr(self._local, "connection", None)
        if connection is not None and connection.closed == 0:
            return connection, True
        dsn = self._dsn() if callable(self._dsn) else self._dsn
        connection = None
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                # libpq's connect_timeout does not hold for the asynchronous connect the wait callback drives.
                with Deadline(CONNECT_TIMEOUT_SECONDS):
                    connection = psycopg2.connect(
                        dsn,
                        connect_timeout=CONNECT_TIMEOUT_SECONDS,
                        application_name="progress-tracking",
                        keepalives=1,
                        keepalives_idle=30,
                        cursor_factory=TransactionCursor,
                    )
                break
            except psycopg2.OperationalError as exc:
                if attempt == CONNECT_ATTEMPTS:
                    logger.error("Could not connect to the database", extra={"error": type(exc).__name__})
                    raise DatabaseUnavailable() from exc
                logger.warning("Could not connect to the database; trying once more", extra={"error": str(exc)[:80]})
                time.sleep(CONNECT_RETRY_PAUSE_SECONDS)
        # Transactions are opened by the first statement of each unit of work (see TransactionCursor), so the
        # driver's own BEGIN, a round trip of its own, is off.
        assert connection is not None
        connection.autocommit = True
        self._local.connection = connection
        return connection, False

    def _rollback(self, connection: psycopg2.extensions.connection) -> None:
        try:
            if connection.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                with cast(TransactionCursor, connection.cursor()) as cursor:
                    cursor.began = True
                    cursor.execute("ROLLBACK")
        except psycopg2.Error:
            self._discard(connection, rollback=False)

    def _discard(self, connection: psycopg2.extensions.connection, *, rollback: bool) -> None:
        self._local.connection = None
        try:
            if rollback:
                self._rollback(connection)
            connection.close()
        except psycopg2.Error:
            pass


@lru_cache(maxsize=1)
def get_database() -> Database:
    """The container's database: its connection closed before a SnapStart snapshot and after each restore."""
    database = Database(database_url.resolve)
    snapstart.close_before_snapshot(database.close)
    return database


# The scheduled recompute's batches have a 300 s function and read up to a thousand users' logs at once.
BATCH_STATEMENT_TIMEOUT_MS = 30_000


@lru_cache(maxsize=1)
def get_batch_database() -> Database:
    database = Database(database_url.resolve, statement_timeout_ms=BATCH_STATEMENT_TIMEOUT_MS)
    snapstart.close_before_snapshot(database.close)
    return database


# An operator's `rebuild` compares and replaces whole tables (about 30 s a million logs to compare here).
OPERATIONS_STATEMENT_TIMEOUT_MS = 3_600_000
