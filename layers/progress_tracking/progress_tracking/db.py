"""Postgres connections: one per container (per thread locally), reused while warm, reopened when broken."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeAlias, TypeVar

import psycopg2
import psycopg2.extensions

from progress_tracking.config import get_settings
from progress_tracking.errors import DatabaseUnavailable
from progress_tracking.observability import logger

T = TypeVar("T")
Cursor: TypeAlias = psycopg2.extensions.cursor

CONNECT_TIMEOUT_SECONDS = 5
# Rotated credentials reach warm containers within this many seconds.
SECRET_MAX_AGE_SECONDS = 900


def one_row(cursor: Cursor) -> tuple[Any, ...]:
    """The row of a query that always returns exactly one (an aggregate, nextval, a lock function)."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the query returned no row")
    return row


class Database:
    """Runs units of work in transactions.

    Lambda runs one request at a time per container, so one connection per container is enough; the local
    gateway serves requests on several threads, so the connection is per thread and never shared.
    """

    def __init__(self, dsn: str | Callable[[], str]) -> None:
        self._dsn = dsn
        self._local = threading.local()

    def run(self, work: Callable[[Cursor], T]) -> T:
        """Run `work` in one transaction and commit it; any exception rolls everything back.

        A warm connection may have been closed by the server or Neon's pooler while idle. When that shows
        before the commit was sent, nothing was written, so the work is retried once on a fresh connection.
        """
        for attempt in (1, 2):
            connection, reused = self._connection()
            committing = False
            try:
                with connection.cursor() as cursor:
                    result = work(cursor)
                committing = True
                connection.commit()
                return result
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
        try:
            connection = psycopg2.connect(
                dsn,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="progress-tracking",
                keepalives=1,
                keepalives_idle=30,
            )
        except psycopg2.OperationalError as exc:
            logger.error("Could not connect to the database", extra={"error": type(exc).__name__})
            raise DatabaseUnavailable() from exc
        self._local.connection = connection
        return connection, False

    def _rollback(self, connection: psycopg2.extensions.connection) -> None:
        try:
            connection.rollback()
        except psycopg2.Error:
            self._discard(connection, rollback=False)

    def _discard(self, connection: psycopg2.extensions.connection, *, rollback: bool) -> None:
        self._local.connection = None
        try:
            if rollback:
                connection.rollback()
            connection.close()
        except psycopg2.Error:
            pass


def _resolve_dsn() -> str:
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    if settings.database_secret_arn:
        return _secret_dsn(settings.database_secret_arn)
    raise DatabaseUnavailable("No database is configured (DATABASE_URL or DATABASE_SECRET_ARN)")


def _secret_dsn(secret_arn: str) -> str:
    # Imported here so that boto3 is loaded only by containers configured to read the secret.
    from aws_lambda_powertools.utilities import parameters

    try:
        secret = parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    except parameters.exceptions.GetParameterError as exc:
        logger.error("Could not read the database secret", extra={"error": type(exc).__name__})
        raise DatabaseUnavailable() from exc
    return dsn_from_secret(secret if isinstance(secret, str) else secret.decode())


def dsn_from_secret(secret: str) -> str:
    """The secret holds the URL itself or a JSON object with it under `url` or `DATABASE_URL`."""
    text = secret.strip()
    if text.startswith("{"):
        fields = json.loads(text)
        return str(fields.get("url") or fields["DATABASE_URL"])
    return text


@lru_cache(maxsize=1)
def get_database() -> Database:
    return Database(_resolve_dsn)
