"""The resilience suite's world: a Postgres cluster of its own (to restart and to fill up), real HTTP peers, the
local app as a real process, and the mixed load. `pytest -m resilience` selects it; it runs in `make test` too."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from localdev.dev_issuer import SigningKey
from localdev.load import AppProcess, MixedLoad, environment, free_port
from localdev.stubs import JwksStub, UserProfileStub

ISSUER, AUDIENCE = "https://resilience.test.invalid/", "https://progress-api.resilience.test.invalid"
# Small, so that "max_connections reached" is quick to reach; the reserved slots let the test's superuser in.
MAX_CONNECTIONS = 24
RESERVED = 3
APP_ROLE = "progress_app"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True) or [shutil.which("initdb") or ""]
    return Path(found[0]).parent if found[0] else None


class PrivateCluster:
    """A Postgres cluster the suite owns: initdb'd into a temporary folder, restartable, with few connection slots.

    initdb and postgres refuse to run as root, so under root they run as the `postgres` user.
    """

    def __init__(self, root: Path) -> None:
        bin_dir = _pg_bin()
        if bin_dir is None:
            pytest.skip("no initdb/pg_ctl on this machine")
        self.bin = bin_dir
        self.dir = root / "data"
        self.port = free_port()
        self.user: str | None = "postgres" if os.geteuid() == 0 else None
        root.mkdir(parents=True)
        if self.user:
            root.parent.chmod(0o755)  # mkdtemp's 0700 would keep the postgres user out
            shutil.chown(root, self.user)
        self._run("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        (self.dir / "postgresql.auto.conf").write_text(
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            f"max_connections = {MAX_CONNECTIONS}\nsuperuser_reserved_connections = {RESERVED}\n"
            "fsync = off\nfull_page_writes = off\nshared_buffers = 32MB\n"
        )
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        kwargs: dict[str, Any] = {"user": self.user} if self.user else {}
        subprocess.run([str(self.bin / tool), *args], check=True, capture_output=True, cwd="/", timeout=120, **kwargs)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start")

    def restart(self) -> None:
        """An immediate stop (a crash: no checkpoint, clients cut off) and a start, as a database restart looks."""
        self._run("pg_ctl", "-D", str(self.dir), "-m", "immediate", "-w", "stop")
        self.start()

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-m", "immediate", "-w", "stop")

    def url(self, user: str = "postgres", dbname: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"


@dataclass
class World:
    cluster: PrivateCluster
    database_url: str  # as the app reaches it (the app's role, not a superuser)
    admin_url: str
    key: SigningKey
    jwks: JwksStub
    users_service: UserProfileStub
    app: AppProcess
    load: MixedLoad
    users: list[str]
    token_keys: dict[str, SigningKey] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)

    def token(self, user: str) -> str:
        key = self.token_keys.get("current", self.key)
        return key.access_token(
            issuer=ISSUER, audience=AUDIENCE, user_id=user, scope="read:progress write:progress delete:progress"
        )


# One row per fault, printed at the end of the run; tests reach it as `world.results` (a test module importing this
# file would get a second copy of the module, and of the list).
RESULTS: list[dict[str, Any]] = []


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
