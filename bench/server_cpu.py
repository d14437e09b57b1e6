"""The CPU time a Postgres server on this machine has spent, read from /proc: its postmaster's own, that of every
process it runs (backends, autovacuum, the WAL writer, the checkpointer), and that of the children it has reaped
(a backend whose connection closed counts there). The difference over a run is the server's whole cost of it, in CPU
seconds, whichever cores it ran on and whatever else the machine was doing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg2

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name (which may hold spaces): [state, ppid, …]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


class ServerCpu:
    """Seconds of CPU a local Postgres has spent so far (`seconds()`); `None` from `of(url)` when the server's
    processes cannot be seen (another machine, another PID namespace)."""

    def __init__(self, postmaster: int) -> None:
        self.postmaster = postmaster

    @classmethod
    def of(cls, url: str) -> ServerCpu | None:
        connection = psycopg2.connect(url)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (backend,) = cursor.fetchone()
            fields = _stat(backend)
        finally:
            connection.close()
        if fields is None:
            return None
        postmaster = int(fields[1])
        command = Path(f"/proc/{postmaster}/cmdline").read_bytes().split(b"\0")[0]
        return cls(postmaster) if command.endswith(b"postgres") or command.endswith(b"postmaster") else None

    def children(self) -> set[int]:
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                fields = _stat(int(entry.name))
                if fields is not None and int(fields[1]) == self.postmaster:
                    found.add(int(entry.name))
        return found

    def seconds(self) -> float:
        own = _stat(self.postmaster)
        if own is None:
            raise RuntimeError("the Postgres server stopped")
        # utime, stime, cutime, cstime are fields 14-17 of stat, 11-14 here.
        ticks = sum(int(value) for value in own[11:15])
        for child in self.children():
            fields = _stat(child)
            if fields is not None:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / _TICK

    def settle(self, before: set[int], timeout: float = 5.0) -> None:
        """Wait until the backends that a finished client left behind have exited and been reaped (their CPU time
        moves to the postmaster's), at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.children() - before and time.monotonic() < deadline:
            time.sleep(0.05)
