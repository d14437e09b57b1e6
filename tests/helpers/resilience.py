"""The resilience suite's world: a Postgres cluster of its own with few connection slots (restartable, as a crash
looks), the local app as a process on it, and the faults' results (tests/resilience/conftest.py builds it)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localdev.dev_issuer import SigningKey
from localdev.load import AppProcess, MixedLoad, free_port
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


# One row per fault, printed at the end of the run (tests/resilience/conftest.py); tests reach it as `world.results`.
RESULTS: list[dict[str, Any]] = []
