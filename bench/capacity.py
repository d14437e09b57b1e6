"""Database capacity, measured with pgbench: each endpoint's own statements, recorded from the service through the app
and the wire (bench/endpoints.py), run on a data set of realistic size, beside the floor of one plain INSERT of a
log's row into a table with one index.

    python -m bench capacity [--users 2000] [--logs-per-user 100] [--seconds 10 | --transactions N] [--clients 2]
                             [--threads 1] [--pin-client CPUS] [--breakdown 200] [--rounds 3] [--scripts DIR]

Transactions per second per database core are the transactions of a run divided by the CPU seconds the server spent
on it (every process of the postmaster, from /proc: bench/server_cpu.py): what one core does when it does only that,
however the server's processes spread over this machine's cores. The table also shows the wall-clock TPS, the
server's cores used (its CPU seconds over the run's seconds) and pgbench's own (`--pin-client` pins pgbench to those
CPUs with taskset; the server is left where it runs). A CPU second is worth less while other work shares the core,
so each endpoint runs right after a floor run of its own and its share of the floor compares the two. A stale
summary is the first read of each user's summary (every user once, in order); a current one is any read after.

POST's goal is 30 % of the floor per core. Where the time goes (`--breakdown N`, default 200; 0 skips it): POST and
PUT in `--rounds` paired runs with and without plan_cache_mode=force_generic_plan (the share planning takes:
PL/pgSQL plans a statement with parameters again on every call while it keeps a custom plan), and N transactions of
each with auto_explain, each statement's time with the statements its triggers run, custom and generic plans side by
side.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

import psycopg2

from bench import breakdown, counters, dataset, pgbench
from bench.endpoints import FLOOR_INSERT, capacity_scripts, create_floor
from bench.recording import AppRecorder
from bench.scripts import Input, Script
from bench.server_cpu import ServerCpu
from localdev.databases import postgres_server, scratch_database

GOAL = 0.30
# Generic plans for every prepared statement of the session, PL/pgSQL's included: what replanning costs.
GENERIC_MODE = "force_generic_plan"
GENERIC = f"-c plan_cache_mode={GENERIC_MODE}"
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
    logs, total = dataset.size(url)
    print(
        f"data set: {logs:,} logs, {total / 1e6:.0f} MB with their events, states, facts and indexes"
        f" ({total / logs:.0f} bytes a log)"
    )
    pinned = f", pgbench pinned to CPUs {args.pin_client}" if args.pin_client else ""
    length = f"{args.transactions} transactions a client" if args.transactions else f"{args.seconds:g} s"
    print(
        f"{os.cpu_count()} cores on this machine, shared with whatever else runs; pgbench -M simple, "
        f"{args.clients} clients, {args.threads} thread(s), {length} a run{pinned}"
    )


def print_table(runs: dict[str, pgbench.Run], floors: dict[str, pgbench.Run], trips: dict[str, int]) -> None:
    floor = statistics.median(run.per_core or 0 for run in floors.values())
    floor_tps = statistics.median(run.tps for run in floors.values())
    print(
        f"{'endpoint':<30} {'round trips':>11} {'TPS':>8} {'server cores':>12} {'server µs/tx':>12}"
        f" {'TPS/core':>9} {'% of floor':>10} {'pgbench cores':>13}"
    )
    print(
        f"{FLOOR + ' (median)':<30} {1:>11} {floor_tps:>8.0f} {'':>12} {1e6 / floor if floor else 0:>12.0f}"
        f" {floor:>9.0f} {'100.0%':>10}"
    )
    for name, result in runs.items():
        per_core, floor_per_core = result.per_core, floors[name].per_core
        share = f"{per_core / floor_per_core * 100:9.1f}%" if per_core and floor_per_core else f"{'':>10}"
        print(
            f"{name:<30} {trips.get(name, 1):>11} {result.tps:>8.0f} {result.server_cores or 0:>12.2f}"
            f" {result.server_us or 0:>12.0f} {per_core or 0:>9.0f} {share} {result.client_cpu / result.seconds:>13.2f}"
        )
    print("(% of floor: against the floor run just before the endpoint's)")
    # The same runs in counts, which do not depend on this machine's speed or load.
    reference = next(iter(floors.values()))
    print("\nThe same runs in counts (WAL records and rows do not depend on the machine; buffers include each")
    print("connection's first reads of the catalogs, a few per transaction in a short run):")
    print(
        f"{'work per transaction':<30} {'rows written':>12} {'buffers':>9} {'x floor':>8}"
        f" {'WAL records':>11} {'x floor':>8} {'WAL bytes':>10}"
    )
    floor_buffers = reference.per_transaction(reference.counts.buffers)
    floor_records = reference.per_transaction(reference.counts.wal_records)
    for name, result in {FLOOR: reference, **runs}.items():
        counts = result.counts
        buffers, records = result.per_transaction(counts.buffers), result.per_transaction(counts.wal_records)
        print(
            f"{name:<30} {result.per_transaction(counts.rows_written):>12.1f} {buffers:>9.1f}"
            f" {buffers / floor_buffers:>8.1f} {records:>11.1f} {records / floor_records:>8.1f}"
            f" {result.per_transaction(counts.wal_bytes):>10.0f}"
        )
    print("rows written per transaction (+inserted ~updated -deleted):")
    for name, result in {FLOOR: reference, **runs}.items():
        if result.counts.rows_written:
            print(f"  {name}: {counters.per_transaction(result.counts, result.transactions)}")


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
        dataset.autovacuum_off(url)
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
        short = {"transactions": args.transactions} if args.transactions else {"seconds": max(2, args.seconds / 3)}
        runs: dict[str, pgbench.Run] = {}
        floors: dict[str, pgbench.Run] = {}
        # Each endpoint right after a floor run of its own: this machine's speed drifts with what else runs on it,
        # and the share of the floor compares two runs made within seconds of each other.
        for name in (*ORDER, STALE, CURRENT):
            floors[name] = pgbench.run(url, texts[FLOOR], defines=defines, **short, **settings)
            stale = {"transactions": per_client} if name == STALE else length
            runs[name] = pgbench.run(url, texts[name], defines=defines, **stale, **settings)
        print_table(runs, floors, {name: len(script.round_trips) for name, script in scripts.items()})
        post, floor = runs["POST log"].per_core, floors["POST log"].per_core
        if post and floor:
            verdict = "met" if post / floor >= GOAL else "NOT MET"
            print(f"POST at {post / floor * 100:.1f} % of the floor per core: goal >= {GOAL * 100:.0f} % {verdict}")
        if args.breakdown:
            where_the_time_goes(url, scripts, texts, defines, args, settings)


def where_the_time_goes(
    url: str,
    scripts: dict[str, Script],
    texts: dict[str, str],
    defines: dict[str, object],
    args: argparse.Namespace,
    settings: dict[str, object],
) -> None:
    """Planning's share (each write with and without generic plans, in alternating rounds), then each statement's
    executor time (auto_explain), with custom plans as the service runs and with generic ones."""
    print(f"\nWhere the time goes ({GENERIC}: every statement's plan kept for the session, PL/pgSQL's included)")
    length = {"transactions": args.transactions} if args.transactions else {"seconds": max(2, args.seconds / 2)}
    for name in ("POST log", "PUT log"):
        pairs = []
        for _ in range(args.rounds):
            usual = pgbench.run(url, texts[name], defines=defines, **length, **settings)
            generic = pgbench.run(url, texts[name], defines=defines, options=GENERIC, **length, **settings)
            if usual.server_us and generic.server_us:
                pairs.append((usual.server_us, generic.server_us))
        if pairs:
            usual_us = statistics.median(u for u, _ in pairs)
            saved = statistics.median((u - g) / u for u, g in pairs)
            print(
                f"  {name}: {usual_us:.0f} µs of server CPU per transaction as the service runs it; with generic"
                f" plans {saved * 100:.0f} % less (the median of {len(pairs)} paired rounds;"
                f" {', '.join(f'{(u - g) / u * 100:.0f}' for u, g in pairs)} %): that share is planning"
            )
    for name in ("POST log", "PUT log"):
        variables = {**defines, "client_id": 0}
        usual = breakdown.measure(url, scripts[name], args.breakdown, variables)
        generic = breakdown.measure(
            url, scripts[name], args.breakdown, variables, f"SET plan_cache_mode = {GENERIC_MODE}"
        )
        breakdown.print_breakdowns(usual, generic)
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
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds with and without generic plans")
    parser.add_argument("--scripts", help="write the generated pgbench scripts into this folder")
    run(parser.parse_args(argv))
