"""Running a pgbench script against a database and measuring what it cost the server.

pgbench (it ships with Postgres) runs the script in `clients` connections, `-M simple` (a round trip's statements
joined by `\\;` go as one message, as psycopg2 sends them) and `-n` (no vacuum of pgbench's own tables). The server's
CPU seconds over the run come from /proc (bench/server_cpu.py), so `per_core` is transactions per second of one
fully used core; pgbench's own CPU is reported beside it. A CPU second is worth less while other work shares the
core, so each run also counts what it did whatever the machine's speed (bench/counters.py): rows written, buffers
touched, WAL records and bytes.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import counters
from bench.server_cpu import ServerCpu


@dataclass(frozen=True)
class Run:
    transactions: int
    seconds: float  # pgbench's measured time, without its connections' set-up
    server_cpu: float | None  # CPU seconds the server spent over the run (None: not measurable here)
    client_cpu: float  # pgbench's own CPU seconds
    counts: counters.Counts  # rows written, buffers, WAL over the run

    def per_transaction(self, count: int) -> float:
        return count / self.transactions

    @property
    def tps(self) -> float:
        return self.transactions / self.seconds

    @property
    def per_core(self) -> float | None:
        """Transactions per CPU second of the server: what one database core does when it does only this."""
        return self.transactions / self.server_cpu if self.server_cpu else None

    @property
    def server_cores(self) -> float | None:
        return self.server_cpu / self.seconds if self.server_cpu is not None else None

    @property
    def server_us(self) -> float | None:
        """Server CPU microseconds per transaction."""
        return self.server_cpu / self.transactions * 1e6 if self.server_cpu is not None else None


def pgbench_path() -> str:
    found = shutil.which("pgbench") or next(
        (str(path) for path in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError("pgbench not found: it ships with Postgres (apt-get install postgresql-client)")
    return found


def run(
    url: str,
    script: str,
    *,
    clients: int = 2,
    threads: int = 1,
    seconds: float | None = None,
    transactions: int | None = None,
    defines: dict[str, object] | None = None,
    cpu: ServerCpu | None = None,
    pin: str | None = None,
    options: str = "",
) -> Run:
    """One pgbench run of `script` for `seconds`, or `transactions` per client; pgbench pinned to the CPUs `pin`
    (taskset's list) when given; `options` are the connections' settings (PGOPTIONS, e.g. `-c name=value`). A failed
    transaction or an aborted client is an error."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    command = [pgbench_path(), "-n", "-M", "simple", "-f", file.name, "-c", str(clients), "-j", str(threads)]
    command += ["-T", str(max(1, round(seconds)))] if transactions is None else ["-t", str(transactions)]
    for name, value in (defines or {}).items():
        command += ["-D", f"{name}={value}"]
    if pin:
        command = ["taskset", "-c", pin, *command]
    before = cpu.children() if cpu else set()
    counts_before = counters.read(url)
    server_start = cpu.seconds() if cpu else 0.0
    client_start = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        environment = {**os.environ, "PGAPPNAME": "bench", "PGOPTIONS": options}
        result = subprocess.run([*command, url], capture_output=True, text=True, env=environment)
    finally:
        os.unlink(file.name)
    client_end = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu:
        cpu.settle(before)
    else:
        time.sleep(0.5)  # the run's backends report their statistics as they exit
    server_cpu = cpu.seconds() - server_start if cpu else None
    counts = counters.read(url) - counts_before
    output = result.stdout + result.stderr
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    if result.returncode != 0 or not processed or not tps or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed ({result.returncode}):\n{output[-4000:]}\nscript:\n{script}")
    count = int(processed.group(1))
    return Run(
        transactions=count,
        seconds=count / float(tps.group(1)),
        server_cpu=server_cpu,
        client_cpu=(client_end.ru_utime + client_end.ru_stime) - (client_start.ru_utime + client_start.ru_stime),
        counts=counts,
    )
