"""The cursor of a unit of work: opens its transaction with its first statement and sends deferred writes with the next.

`Database.run` and `Database.single` (db.py) drive it; the store writes through `defer` and reads with `execute`.
"""

from __future__ import annotations

from typing import Any, TypeAlias, cast

import psycopg2.extensions
import psycopg2.sql

from progress_tracking.deadline import CLIENT_MARGIN_SECONDS, Deadline
from progress_tracking.store.statements import statement

# Per statement, set with SET LOCAL in every transaction; a lock wait counts inside the statement's time.
STATEMENT_TIMEOUT_MS = 2000
LOCK_TIMEOUT_MS = 1000
Cursor: TypeAlias = psycopg2.extensions.cursor


def one_row(cursor: Cursor) -> tuple[Any, ...]:
    """The row of a query that always returns exactly one (an aggregate, nextval, a lock function)."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the query returned no row")
    return row


def rows_by_name(cursor: Cursor) -> list[dict[str, Any]]:
    """The rows of the last query, each by its columns' names."""
    names = [column.name for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class TransactionCursor(psycopg2.extensions.cursor):
    """Opens the transaction with its first statement (`BEGIN; <time limits>; <statement>` is one round trip), and
    sends deferred statements with the next one (the COMMIT at the latest): a write costs two round trips.

    A single-statement unit of work (`Database.single`) opens with the time limits alone: Postgres runs the one
    message as one implicit transaction, so the limits hold, nothing stays on the session, and no COMMIT is sent.
    """

    time_limits: dict[str, str] = {}  # noqa: RUF012 - set per unit of work, never changed in place
    began = False
    single = False
    client_timeout = STATEMENT_TIMEOUT_MS / 1000 + CLIENT_MARGIN_SECONDS

    def execute(self, query: Any, vars: Any = None) -> None:  # noqa: A002 - psycopg2's signature
        text = query.as_string(self) if isinstance(query, psycopg2.sql.Composable) else query
        # Whole statements sent before this one in the same message, which Postgres runs one after another: the
        # transaction's opening (BEGIN, unless it is a single statement's, and its time limits), then deferred writes.
        before: list[str] = []
        if not self.began:
            self.began = True
            before += [] if self.single else ["BEGIN"]
            before.append(self.mogrify(statement("time_limits"), self.time_limits).decode())
        elif self.single:
            raise RuntimeError("a single-statement unit of work ran a second statement")
        before += self.deferred
        self.deferred.clear()
        if before:
            # Each statement ends on a line of its own: one whose last line is a comment cannot hide what follows.
            text = "\n;\n".join([*before, self.mogrify(text, vars).decode() if vars is not None else text])
            vars = None  # noqa: A001 - in place now
        with Deadline(self.client_timeout):
            super().execute(text, vars)

    def defer(self, query: str, vars: Any = None) -> None:  # noqa: A002 - psycopg2's signature
        """Send this statement with the next one, or with the COMMIT: for writes whose result nothing reads."""
        if self.single:
            raise RuntimeError("a single-statement unit of work cannot defer a statement")
        self.deferred.append(self.mogrify(query, vars).decode())

    @property
    def deferred(self) -> list[str]:
        if "_deferred" not in self.__dict__:
            self.__dict__["_deferred"] = []
        return cast(list[str], self.__dict__["_deferred"])


def defer(cursor: Cursor, query: str, vars: Any = None) -> None:  # noqa: A002 - psycopg2's signature
    """Send a write whose result nothing reads with the transaction's next statement (its COMMIT at the latest);
    on a plain psycopg2 cursor (tests drive the store with those), at once."""
    if isinstance(cursor, TransactionCursor):
        cursor.defer(query, vars)
    else:
        cursor.execute(query, vars)
