"""The resilience suite's world: a Postgres cluster of its own (to restart and to fill up), real HTTP peers, the
local app as a real process, and the mixed load. `pytest -m resilience` selects it; it runs in `make test` too."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from localdev.dev_issuer import SigningKey
from localdev.load import AppProcess, MixedLoad, environment
from localdev.stubs import JwksStub, UserProfileStub
from tests.helpers.resilience import APP_ROLE, AUDIENCE, ISSUER, RESULTS, PrivateCluster, World


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    root = Path(tempfile.mkdtemp(prefix="resilience-"))
    cluster = PrivateCluster(root / "pg")
    admin = psycopg2.connect(cluster.url())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        cursor.execute(f"CREATE DATABASE progress OWNER {APP_ROLE}")
    admin.close()
    key = SigningKey.generate(kid="resilience-1")
    users = [f"res-user-{n}" for n in range(6)]
    with JwksStub(key.jwks()) as jwks, UserProfileStub(known=None) as users_service:
        env = environment(
            DATABASE_URL=cluster.url(APP_ROLE, "progress"),
            AUTH0_ISSUER=ISSUER,
            AUTH0_AUDIENCE=AUDIENCE,
            AUTH0_JWKS_URL=jwks.jwks_url,
            USER_SVC_BASE_URL=users_service.base_url,
            # Every request asks the User Profile service, so its faults reach every write.
            USER_SVC_CACHE_SECONDS="0",
        )
        app = AppProcess(env, root / "app")
        app.start()
        world = World(
            cluster=cluster,
            database_url=cluster.url(APP_ROLE, "progress"),
            admin_url=cluster.url("postgres", "progress"),
            key=key,
            jwks=jwks,
            users_service=users_service,
            app=app,
            load=None,  # type: ignore[arg-type]
            users=users,
            results=RESULTS,
        )
        world.load = MixedLoad(app.url, users, world.token, clients=4, think=0.02)
        try:
            yield world
        finally:
            world.load.stop()
            app.stop()
            cluster.stop()
            shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write("Resilience: faults injected one at a time under the mixed load (4 clients, 6 users, every endpoint)")
    write(
        f"{'fault':<34} {'requests':>8} {'no answer':>9} {'acked writes':>12} {'lost':>4} {'recover s':>9}  5xx by code"
    )
    for row in RESULTS:
        fives = ", ".join(f"{code}: {n}" for code, n in sorted(row["5xx"].items())) or "none"
        write(
            f"{row['fault']:<34} {row['requests']:>8} {row['no_answer']:>9} {row['acked']:>12} {row['lost']:>4}"
            f" {row['recover']:>9.2f}  {fives}"
        )
