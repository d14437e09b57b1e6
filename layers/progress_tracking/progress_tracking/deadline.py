"""The client-side deadline: psycopg2's wait callback gives up on a database or pooler that does not answer in time.

The callback is process-wide (psycopg2 has one): `install` puts it in place, and every Database does so when it is
created, before its first connection.
"""

from __future__ import annotations

import select
import threading
import time

import psycopg2
import psycopg2.extensions

# The client gives up this long after the server's own statement_timeout should have answered: a pooler queueing
# for a server connection it cannot open, or a half-open TCP connection, never holds a function until its timeout.
CLIENT_MARGIN_SECONDS = 1.0


class ClientTimeout(psycopg2.OperationalError):
    """No answer from the database (or the pooler) by the client-side deadline; the connection is closed."""


_deadline = threading.local()


def _wait(connection: psycopg2.extensions.connection) -> None:
    """psycopg2's wait callback: waits for the socket as libpq would, but only until this thread's deadline.

    Raising here makes psycopg2 close the connection. Outside a Database operation there is no deadline.
    """
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        at = getattr(_deadline, "at", None)
        timeout = None if at is None else max(0.0, at - time.monotonic())
        reading = state == psycopg2.extensions.POLL_READ
        ready = select.select(
            [connection.fileno()] if reading else [], [] if reading else [connection.fileno()], [], timeout
        )
        if not (ready[0] or ready[1]) and at is not None:
            raise ClientTimeout("the database did not answer in time")


def install() -> None:
    """psycopg2 waits for every connection's socket through `_wait` from now on (every connection of the process)."""
    if psycopg2.extensions.get_wait_callback() is not _wait:
        psycopg2.extensions.set_wait_callback(_wait)


class Deadline:
    """`with Deadline(seconds):` a database call in this thread that has no answer by then raises ClientTimeout."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        _deadline.at = time.monotonic() + self.seconds

    def __exit__(self, *exc: object) -> None:
        _deadline.at = None
