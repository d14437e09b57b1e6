"""Versioned schema migrations: numbered SQL files applied in order, once, under an advisory lock."""

from __future__ import annotations

import time
from pathlib import Path

from progress_tracking.db import CLIENT_MARGIN_SECONDS, Cursor, Database
from progress_tracking.errors import DatabaseBusy, DatabaseUnavailable
from progress_tracking.observability import logger
from progress_tracking.store.statements import statement
from progress_tracking.transaction_cursor import TransactionCursor

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Transaction-level lock: works through Neon's transaction-mode pooler, released by commit or rollback.
MIGRATION_LOCK_KEY = 7_146_251_001
# How long a migration run by hand or by the local app may take, waiting for the lock and for the API's locks
# included. On deploy the migrate function gives it what is left of its invocation instead (custom_resource.py).
MIGRATION_SECONDS = 240.0


class MigrationTimedOut(DatabaseBusy):
    """The migration ran out of its time (a lock it waited for, or a statement); its transaction rolled back."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The schema migration did not finish within {seconds:.0f} s (it waited for a lock or a statement ran"
            " that long); nothing was applied"
        )


def available_migrations() -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        found.append((int(number), name, path))
    return found


def migrate(database: Database, seconds: float = MIGRATION_SECONDS) -> list[int]:
    """Apply every migration not yet recorded, all in one transaction, within `seconds` (waiting for another run's
    lock included); return the versions applied now. Safe to run concurrently. MigrationTimedOut when the time ran
    out: then nothing was applied."""
    deadline = time.monotonic() + seconds

    def limit_next_statement(cursor: Cursor) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise MigrationTimedOut(seconds)
        milliseconds = str(max(1, int(left * 1000)))
        if isinstance(cursor, TransactionCursor):  # the client stops waiting when the server should have answered
            cursor.client_timeout = left + CLIENT_MARGIN_SECONDS
        # What is left of the run's time, for the statement about to run and for each lock it waits for.
        cursor.execute(
            statement("time_limits"), {"statement_timeout_ms": milliseconds, "lock_timeout_ms": milliseconds}
        )

    def work(cursor: Cursor) -> list[int]:
        limit_next_statement(cursor)
        cursor.execute(statement("advisory_lock"), {"key": MIGRATION_LOCK_KEY})
        cursor.execute(statement("create_schema_migrations"))
        cursor.execute(statement("applied_migrations"))
        done = {row[0] for row in cursor.fetchall()}
        applied = []
        for version, name, path in available_migrations():
            if version in done:
                continue
            limit_next_statement(cursor)
            cursor.execute(path.read_text())
            cursor.execute(statement("record_migration"), {"version": version, "name": name})
            applied.append(version)
        return applied

    try:
        applied = database.run(work)
    except (DatabaseBusy, DatabaseUnavailable) as exc:
        # A time limit set from the deadline fired (server side, or the client's a moment later).
        if isinstance(exc, MigrationTimedOut) or time.monotonic() >= deadline - 1:
            raise MigrationTimedOut(seconds) from exc
        raise
    if applied:
        logger.info("Applied migrations", extra={"versions": applied})
    return applied
