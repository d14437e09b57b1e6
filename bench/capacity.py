"""Database capacity, measured with pgbench: each endpoint's own statements, recorded from the service through the app
and the wire (bench/endpoints.py), run on a data set of realistic size, beside the floor of one plain INSERT of a
log's row into a table with one index.

    python -m bench capacity [--users 2000] [--logs-per-user 100] [--seconds 10 | --transactions N] [--clients 2]
                             [--threads 1] [--pin-client CPUS] [--breakdown 200] [--scripts DIR]

Transactions per second per database core are the transactions of a run divided by the CPU seconds the server spent
on it (every process of the postmaster, from /proc: bench/server_cpu.py): what one core does when it does only that,
however the server's processes spread over this machine's cores, and whatever else ran. The table also shows the
wall-clock TPS, the server's cores used (its CPU seconds over the run's seconds) and pgbench's own (`--pin-client`
pins pgbench to those CPUs with taskset; the server is left where it runs). A stale summary is the first read of
each user's summary (every user once, in order); a current one is any read after.

POST's goal is 30 % of the floor per core. Where the time goes (`--breakdown N`, default 200; 0 skips it): POST and
PUT again with plan_cache_mode=force_generic_plan (the share planning takes: PL/pgSQL plans a statement with
parameters again on every call while it keeps a custom plan), and N transactions of each with auto_explain, which
prints each statement's time, the statements the triggers run inside.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from dataclasses import replace
from pathlib import Path

import psycopg2

from bench import breakdown, dataset, pgbench
from bench.endpoints import FLOOR_INSERT, capacity_scripts, create_floor
from bench.recording import AppRecorder
from bench.scripts import Input, Script
from bench.server_cpu import ServerCpu
from localdev.databases import postgres_server, scratch_database

GOAL = 0.30
# Generic plans for every prepared statement of the session, PL/pgSQL's included: what replanning costs.
GENERIC = "-c plan_cache_mode=force_generic_plan"
FLOOR = "floor: one INSERT, one index"
ORDER = ("POST log", "POST log, Idempotency-Key", "PUT log", "GET list page", "GET series")
STALE, CURRENT = "GET summary, stale", "GET summary, current"


def every_user_once(script: Script) -> Script:
    """The script with its user drawn in order instead: client c reads users c·per_client + 1, + 2, … (k counts
    the client's transactions from 0), so each user's summary is read once, stale."""
    inputs = [Input("k", ":k + 1"), Input("user_n", "1 + :client_id * :per_client + :k - 1")]
    return replace(script, inputs=inputs + [i for i in script.inputs if i.name not in ("k", "user_n")])


def log_ids(url: str) -> tuple[int, int]:
    """The first and last log id of the data set's users (written in one statement: every id between is theirs)."""
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT min(log_id), max(log_id) FROM progress_logs WHERE user_id LIKE 'scale-user-%'")
            first, last = cursor.fetchone()
            return int(first), int(last)
    finally:
        connection.close()


def header(args: argparse.Namespace, url: str, built: float) -> None:
    print(
        f"\n== Database capacity: pgbench on each endpoint's recorded statements "
        f"({args.users:,} users x {args.logs_per_user} daily logs, built in {built:.0f} s) =="
    )
    print(dataset.server_settings(url))
    pinned = f", pgbench pinned to CPUs {args.pin_client}" if args.pin_client else ""
    length = f"{args.transactions} transactions a client" if args.transactions else f"{args.seconds:g} s"
    print(
        f"{os.cpu_count()} cores on this machine, shared with whatever else runs; pgbench -M simple, "
        f"{args.clients} clients, {args.threads} thread(s), {length} a run{pinned}"
    )


def print_table(runs: dict[str, pgbench.Run], trips: dict[str, int]) -> None:
    floor = runs[FLOOR].per_core
    print(
        f"{'endpoint':<30} {'round trips':>11} {'TPS':>8} {'server cores':>12} {'server µs/tx':>12}"
        f" {'TPS/core':>9} {'% of floor':>10} {'pgbench cores':>13}"
    )
    for name, result in runs.items():
        per_core = result.per_core
        share = f"{per_core / floor * 100:9.1f}%" if per_core and floor else f"{'':>10}"
        print(
            f"{name:<30} {trips.get(name, 1):>11} {result.tps:>8.0f} {result.server_cores or 0:>12.2f}"
            f" {result.server_us or 0:>12.0f} {per_core or 0:>9.0f} {share} {result.client_cpu / result.seconds:>13.2f}"
        )


def run(args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory() as scratch,
        postgres_server(Path(scratch) / "pg") as server,
        scratch_database(server, "progress_capacity") as url,
    ):
        built = dataset.build(url, args.users, args.logs_per_user)
        header(args, url, built)
        create_floor(url)
        with AppRecorder(url, Path(scratch) / "app") as recorder:
            scripts = capacity_scripts(recorder, url)
        scripts[STALE] = every_user_once(scripts["GET summary"])
        scripts[CURRENT] = scripts["GET summary"]
        first_log, last_log = log_ids(url)
        per_client = args.users // args.clients
        defines = {
            "users": args.users,
            "first_log": first_log,
            "last_log": last_log,
            "k": 0,
            "nonce": random.randrange(1, 2000),
            "per_client": per_client,
        }
        texts = {
            name: script.pgbench(f"{name}: {script.name}, recorded from the service")
            for name, script in scripts.items()
        }
        texts[FLOOR] = FLOOR_INSERT
        if args.scripts:
            folder = Path(args.scripts)
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in texts.items():
                (folder / f"{name.replace(' ', '_').replace(',', '')}.sql").write_text(text)
        cpu = ServerCpu.of(url)
        if cpu is None:
            print("The server's processes are not visible here: TPS per core cannot be measured, only TPS.")
        settings = {"clients": args.clients, "threads": args.threads, "cpu": cpu, "pin": args.pin_client}
        length = {"transactions": args.transactions} if args.transactions else {"seconds": args.seconds}
        runs: dict[str, pgbench.Run] = {}
        for name in (FLOOR, *ORDER):
            runs[name] = pgbench.run(url, texts[name], defines=defines, **length, **settings)
        runs[STALE] = pgbench.run(url, texts[STALE], transactions=per_client, defines=defines, **settings)
        runs[CURRENT] = pgbench.run(url, texts[CURRENT], defines=defines, **length, **settings)
        print_table(runs, {name: len(script.round_trips) for name, script in scripts.items()})
        post, floor = runs["POST log"].per_core, runs[FLOOR].per_core
        if post and floor:
            verdict = "met" if post / floor >= GOAL else "NOT MET"
            print(f"POST at {post / floor * 100:.1f} % of the floor per core: goal >= {GOAL * 100:.0f} % {verdict}")
        if args.breakdown:
            print("\nWhere the time goes")
            for name in ("POST log", "PUT log"):
                generic = pgbench.run(url, texts[name], defines=defines, options=GENERIC, **length, **settings)
                if generic.server_us and runs[name].server_us:
                    saved = runs[name].server_us - generic.server_us
                    print(
                        f"  {name} with every statement's plan kept for the session ({GENERIC}):"
                        f" {generic.server_us:.0f} µs per transaction instead of {runs[name].server_us:.0f}"
                        f" ({saved / runs[name].server_us * 100:.0f} % less, {generic.per_core:.0f} TPS/core):"
                        " the difference is planning"
                    )
            for name in ("POST log", "PUT log"):
                measured = breakdown.measure(url, scripts[name], args.breakdown, {**defines, "client_id": 0})
                breakdown.print_breakdown(measured, runs[name].server_us)
            print("  What each derived table costs a write, switched off one at a time: python -m bench derived")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench capacity", description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--logs-per-user", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10, help="each pgbench run's length")
    parser.add_argument("--transactions", type=int, help="each run this many transactions per client instead")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pin-client", help="taskset CPU list to pin pgbench to (e.g. 1)")
    parser.add_argument("--breakdown", type=int, default=200, help="transactions of POST and PUT with auto_explain")
    parser.add_argument("--scripts", help="write the generated pgbench scripts into this folder")
    run(parser.parse_args(argv))
