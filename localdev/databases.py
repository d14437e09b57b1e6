"""Postgres for tests and benchmarks: the configured one, the machine's, or an embedded one; scratch databases on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from psycopg2.extensions import make_dsn

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def answers(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=2).close()
        return True
    except psycopg2.OperationalError:
        return False


@contextmanager
def postgres_server(scratch_dir: Path) -> Iterator[str]:
    """TEST_DATABASE_URL if set, else the Postgres on 127.0.0.1:5432 if it answers, else an embedded one."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
    elif answers(LOCAL_POSTGRES):
        yield LOCAL_POSTGRES
    else:
        from localdev.embedded_postgres import start_embedded_postgres

        server, url = start_embedded_postgres(scratch_dir)
        try:
            yield url
        finally:
            server.cleanup()


@contextmanager
def scratch_database(server_url: str, prefix: str = "progress_test") -> Iterator[str]:
    """A new, empty database on the server for as long as the block runs; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield make_dsn(server_url, dbname=name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
