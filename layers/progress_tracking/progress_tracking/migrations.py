"""Versioned schema migrations: numbered SQL files applied in order, once, under an advisory lock."""

from __future__ import annotations

from pathlib import Path

from progress_tracking.db import Cursor, Database
from progress_tracking.observability import logger

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Transaction-level lock: works through Neon's transaction-mode pooler, released by commit or rollback.
MIGRATION_TIMEOUT_MS = 240_000
MIGRATION_LOCK_KEY = 7_146_251_001


def available_migrations() -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        found.append((int(number), name, path))
    return found


def migrate(database: Database) -> list[int]:
    """Apply every migration not yet recorded; return the versions applied now. Safe to run concurrently."""

    def work(cursor: Cursor) -> list[int]:
        # A migration may wait for the API's locks and rewrite tables: longer limits than a request's, still inside
        # the Migrate function's 300 s.
        cursor.execute(
            f"SET LOCAL statement_timeout = {MIGRATION_TIMEOUT_MS}; SET LOCAL lock_timeout = {MIGRATION_TIMEOUT_MS};"
            " SELECT pg_advisory_xact_lock(%s)",
            (MIGRATION_LOCK_KEY,),
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cursor.fetchall()}
        applied = []
        for version, name, path in available_migrations():
            if version in done:
                continue
            cursor.execute(path.read_text())
            cursor.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied.append(version)
        return applied

    applied = database.run(work)
    if applied:
        logger.info("Applied migrations", extra={"versions": applied})
    return applied
