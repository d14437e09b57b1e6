"""PgBouncer in transaction mode in front of a Postgres, as Neon's pooled endpoint is: for the tests' pooler pass."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from psycopg2.extensions import make_dsn, parse_dsn

# Debian's package; `.ci/run` and `make test` install it when missing.
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
# PgBouncer will not run as root; it switches to this user when started by root.
UNPRIVILEGED_USER = "postgres"
# The server's own database through a pool of a single server connection: two clients are then certain to share
# one session, which is what the session-state test needs to show a leak.
SINGLE_SESSION_ALIAS = "single_session"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def available() -> bool:
    return Path(PGBOUNCER).exists()


def pooled_url(url: str, pooler: str) -> str:
    """The same database and user as `url`, reached through the pooler at `pooler` (host:port)."""
    host, port = pooler.rsplit(":", 1)
    fields = parse_dsn(url)
    fields.pop("password", None)
    return make_dsn(**{**fields, "host": host, "port": port})


def _ini(server_url: str, port: int, work: Path) -> str:
    server = parse_dsn(server_url)
    target = " ".join(f"{name}={server[name]}" for name in ("host", "port", "user", "password") if server.get(name))
    single = f"{SINGLE_SESSION_ALIAS} = {target} dbname={server.get('dbname', 'postgres')} pool_size=1\n"
    return (
        "[databases]\n"
        f"{single}"
        f"* = {target}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {work / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        "default_pool_size = 20\n"
        "max_client_conn = 500\n"
        "server_reset_query =\n"
        # Clients never see a server connection the pooler knows is broken for more than this.
        "server_check_delay = 1\n"
        # A refused server login is retried after 1 s, not 15: the service recovers as soon as the database does.
        "server_login_retry = 1\n"
        f"logfile = {work / 'pgbouncer.log'}\n"
        f"pidfile = {work / 'pgbouncer.pid'}\n"
    )


@contextmanager
def pgbouncer(server_url: str) -> Iterator[str]:
    """PgBouncer (pool_mode = transaction) in front of `server_url`'s server, on a free loopback port.

    Every database on the server is reachable through it under its own name, and `server_url`'s database also as
    SINGLE_SESSION_ALIAS through a pool of one server connection. Yields "127.0.0.1:port".
    """
    if not available():
        raise RuntimeError("pgbouncer is not installed (apt-get install -y pgbouncer)")
    work = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    port = free_port()
    (work / "userlist.txt").write_text(f'"{parse_dsn(server_url).get("user", "postgres")}" ""\n')
    (work / "pgbouncer.ini").write_text(_ini(server_url, port, work))
    command = [PGBOUNCER, str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(work, UNPRIVILEGED_USER)
        for path in work.iterdir():
            shutil.chown(path, UNPRIVILEGED_USER)
        command[1:1] = ["-u", UNPRIVILEGED_USER]
    # Its stderr goes to a file: a pipe nobody reads fills up (PgBouncer logs every login there too) and then blocks
    # PgBouncer on its next write, after a few hundred connections.
    with (work / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    address = f"127.0.0.1:{port}"
    try:
        _wait_until_it_answers(process, pooled_url(make_dsn(server_url, dbname="postgres"), address), work)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


def _wait_until_it_answers(process: subprocess.Popen[bytes], url: str, work: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (work / "pgbouncer.log").read_text() if (work / "pgbouncer.log").exists() else ""
            stderr = (work / "stderr.log").read_text()
            raise RuntimeError(f"pgbouncer exited with {process.returncode}:\n{stderr}\n{log}")
        try:
            psycopg2.connect(url, connect_timeout=2).close()
            return
        except psycopg2.OperationalError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("pgbouncer did not answer within 15 s")
