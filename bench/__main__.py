"""Benchmarks of the Progress Tracking Service on this machine.

    python -m bench [--requests 200] [--logs 2000] [--events 20000] [--skip-build]
    python -m bench scale [--users 2000] [--logs-per-user 20] [--big 100000]   (see bench/scale.py)
    python -m bench round-trips   (database round trips per endpoint, counted at the wire)
    python -m bench distance [N]   (latency with the database, JWKS and User Profile at production's distance)
    python -m bench soak [--minutes 10] [--clients 4] [--users 6]
    python -m bench capacity [--users 2000] [--logs-per-user 100] [--seconds 10] …   (see bench/capacity.py)
    python -m bench derived [--sizes 10,10000,100000] [--rounds 5] …   (see bench/derived.py)
    python -m bench batch [--rounds 10] [--size 500]   (a batch upsert of 500 logs beside 500 single POSTs)
    python -m bench portability [--sizes 1000,100000]   (export and import time; see bench/portability.py)

1. Cold start: each function built by `sam build`, its size, and the time its handler module takes to import under
   Python 3.12 with only its artifact and the layer importable (median of 15 fresh processes).
2. Requests through the local gateway over HTTP (real authorizer, handlers, Postgres): p50/p95 and ratios that show
   the design's effects (keyset paging depth, stored vs stale summary, time travel vs projection).
3. Goals and series on a year of daily logs: the weekly series and the summary with goals.
4. The summary recompute: events per second.
5. Round trips per endpoint at the wire, then latency at production's distance (`distance`): this design on a warm
   container vs one that downloads the JWKS, connects and asks the User Profile service on every request.

6. Database capacity (`capacity`): pgbench on each endpoint's own statements, recorded from the service at the wire,
   in transactions per second per database core, beside the floor of one plain INSERT; where a write's time goes.
7. Derived tables (`derived`): what each table a write keeps costs the write, and what it saves the read it serves at
   10, 10,000 and 100,000 logs for one user, with a verdict.
8. The batch upsert (`batch`): 500 logs in one request (new, unchanged, at a higher version) beside 500 single
   POSTs, latency medians and round trips at the wire.
9. Export and import (`portability`): a user of 1,000 and of 100,000 logs exported whole (JSON and CSV) and imported
   back, page by page, with the time per 1,000 logs (flat: linear in the data) and the slowest page.

`scale` builds a large data set with SQL and prints the ratios that must stay flat or linear (bench/scale.py).
`soak` runs the resilience suite's mixed load (every endpoint, several clients and users) against the local app as a
real process for N minutes, then prints throughput, p50/p95/p99 per endpoint, the app's memory at start and end, and
the invariants: every acknowledged write in the event log exactly once, projection = events' fold, summaries =
recompute, no undocumented answer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "progress_tracking"))

from bench.in_process import AUDIENCE, ISSUER, configure_in_process  # noqa: E402
from localdev.databases import postgres_server, scratch_database  # noqa: E402
from localdev.dev_issuer import SigningKey  # noqa: E402
from localdev.lambda_runtime import RUNNER, find_python312, runtime_site_packages  # noqa: E402
from localdev.stubs import JwksStub, UserProfileStub  # noqa: E402
from localdev.template import read_template  # noqa: E402

COLD_START_RUNS = 15  # fresh processes per function; the median damps this machine's noise (±15 % at 7)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# The floors the functions are measured against, imported the same way (same runner, layer, Python, round):
# what every API function needs at least, and what token verification needs at least (PyJWT, cryptography's RSA and
# the HTTP client the JWKS fetch uses: the standard library's http.client).
BASELINES = {
    "baseline: psycopg2+BaseModel+Logger": (
        "import psycopg2\nfrom pydantic import BaseModel\nfrom aws_lambda_powertools import Logger\n"
    ),
    "baseline: PyJWT+RSA+http.client": (
        "import jwt\nimport http.client\nfrom cryptography.hazmat.primitives.asymmetric import rsa\n"
    ),
}
API_BASELINE, AUTHORIZER_BASELINE = BASELINES
API_GOAL, AUTHORIZER_GOAL = 2.0, 1.3


def cold_starts(build_dir: Path, skip_build: bool) -> None:
    python = find_python312()
    if python is None:
        print("cold start: skipped (no Python 3.12)")
        return
    if not skip_build:
        env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
        sam = Path(sys.executable).with_name("sam")
        subprocess.run(
            [str(sam), "build", "--build-dir", str(build_dir)], cwd=ROOT, env=env, check=True, capture_output=True
        )
    built = read_template(build_dir / "template.yaml")["Resources"]
    layer = next(
        build_dir / r["Properties"]["ContentUri"]
        for r in built.values()
        if r["Type"] == "AWS::Serverless::LayerVersion"
    )
    api_functions = {
        logical_id
        for logical_id, r in built.items()
        if r["Type"] == "AWS::Serverless::Function"
        and any(e["Type"] == "Api" for e in (r["Properties"].get("Events") or {}).values())
    }
    print(f"\n== Cold start (Python {subprocess.check_output([str(python), '-V'], text=True).split()[1]}) ==")
    print(f"layer: {folder_size(layer) / 1e6:.1f} MB unzipped")
    from localdev.template import fixed_environment

    # The template's own plain values (POWERTOOLS_*, PYDANTIC_DISABLE_PLUGINS …), as Lambda would set them.
    env = {
        **fixed_environment(ROOT / "template.yaml"),
        "AWS_REGION": "eu-west-1",
        "DATABASE_URL": "postgresql://unused",
    }
    with tempfile.TemporaryDirectory() as scratch:
        runtime = Path(scratch) / "runtime"
        runtime.mkdir()
        runtime_site_packages(runtime)  # the runtime's own boto3, which the relay uses
        code_dirs = {
            logical_id: build_dir / resource["Properties"]["CodeUri"]
            for logical_id, resource in sorted(built.items())
            if resource["Type"] == "AWS::Serverless::Function"
        }
        for name, source in BASELINES.items():
            folder = Path(scratch) / name.replace(" ", "").replace(":", "-").replace("+", "-")
            folder.mkdir()
            (folder / "app.py").write_text(source + "lambda_handler = None\n")
            code_dirs[name] = folder
        times: dict[str, list[float]] = {name: [] for name in code_dirs}
        # Round-robin: each round imports everything once, so the machine's noise spreads over all alike.
        for _ in range(COLD_START_RUNS):
            for name, code in code_dirs.items():
                job = Path(scratch) / "job.json"
                result = Path(scratch) / "result.json"
                job.write_text(
                    json.dumps(
                        {
                            "name": name,
                            "code_dir": str(code),
                            "handler": "app.lambda_handler",
                            "layer_dirs": [str(layer / "python")],
                            "runtime_dirs": [str(runtime)],
                            "memory_mb": 512,
                            "timeout_s": 10,
                            "events": [],
                            "env": env,
                        }
                    )
                )
                subprocess.run([str(python), "-I", "-S", str(RUNNER), str(job), str(result)], check=True)
                outcome = json.loads(result.read_text())
                assert "import_ms" in outcome, (name, outcome)
                times[name].append(outcome["import_ms"])
    median = {name: statistics.median(samples) for name, samples in times.items()}
    print(f"{'function':<38} {'code':>8} {f'import ms (median of {COLD_START_RUNS})':>24} {'ratio':>7}  goal")
    for name in BASELINES:
        print(f"{name:<38} {'':>8} {median[name]:>24.0f}")
    for name in sorted(code_dirs):
        if name in BASELINES:
            continue
        if name == "AuthorizerFunction":
            baseline, goal, versus = AUTHORIZER_BASELINE, AUTHORIZER_GOAL, "JWT"
        else:
            baseline, goal, versus = API_BASELINE, API_GOAL, "API"
        ratio = median[name] / median[baseline]
        verdict = (
            f"<= {goal}x {versus} {'ok' if ratio <= goal else 'MISSED'}"
            if name in api_functions or name == "AuthorizerFunction"
            else "(not an API function)"
        )
        size = f"{folder_size(code_dirs[name]) / 1e3:>6.1f}kB"
        print(f"{name:<38} {size:>8} {median[name]:>24.0f} {ratio:>6.2f}x  {verdict}")


def timed(count: int, call: Callable[[int], requests.Response]) -> list[float]:
    samples = []
    for n in range(count):
        started = time.perf_counter()
        response = call(n)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 300, response.text
    return samples


def describe(name: str, samples: list[float]) -> float:
    p50 = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"{name:<44} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   ({len(samples)} requests)")
    return p50


def requests_through_the_gateway(database_url: str, count: int, logs: int) -> None:
    import logging

    from waitress import create_server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" notes are expected here

    from localdev.gateway import LocalGateway
    from localdev.template import load_api

    key = SigningKey.generate()
    with JwksStub(key.jwks()) as jwks, UserProfileStub(known=None) as users:
        configure_in_process(database_url, jwks, users)
        from progress_tracking.db import get_database
        from progress_tracking.migrations import migrate

        migrate(get_database())
        server = create_server(LocalGateway(load_api(ROOT / "template.yaml")), host="127.0.0.1", port=0, threads=4)
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"
        session = requests.Session()
        token = key.access_token(issuer=ISSUER, audience=AUDIENCE, client=True)
        session.headers["Authorization"] = f"Bearer {token}"

        print(f"\n== Requests through the local gateway ({count} each, sequential, one client) ==")
        start = date(2020, 1, 1)
        post = timed(
            count,
            lambda n: session.post(
                f"{base}/api/progress/log",
                json={
                    "user_id": "bench-writer",
                    "date": (start + timedelta(days=n)).isoformat(),
                    "weight_kg": 80 - n / 100,
                    "workout_done": "running",
                    "calories_burned": 300,
                },
            ),
        )
        describe("POST /api/progress/log", post)

        seed_user(get_database(), "bench-reader", logs)
        first_page = timed(count, lambda n: session.get(f"{base}/api/progress/bench-reader", params={"limit": 100}))
        cursor = deep_cursor(session, base, logs)
        deep_page = timed(
            count, lambda n: session.get(f"{base}/api/progress/bench-reader", params={"limit": 100, "cursor": cursor})
        )
        p_first = describe(f"GET list, first page of 100 ({logs} logs)", first_page)
        p_deep = describe("GET list, last page (keyset cursor)", deep_page)
        print(f"{'  ratio last / first page':<44} {p_deep / p_first:.2f}x (keyset: depth costs nothing)")

        session.get(f"{base}/api/progress/summary/bench-reader")
        stored = timed(count, lambda n: session.get(f"{base}/api/progress/summary/bench-reader"))
        writer_token = key.access_token(issuer=ISSUER, audience=AUDIENCE, client=True, subject="bench2@clients")
        stale = []
        for n in range(count):
            session.post(
                f"{base}/api/progress/log",
                headers={"Authorization": f"Bearer {writer_token}"},
                json={"user_id": "bench-reader", "date": "2019-01-01", "weight_kg": 70 + n % 10},
            )
            stale += timed(1, lambda _: session.get(f"{base}/api/progress/summary/bench-reader"))
        p_stored = describe(f"GET summary, stored and current ({logs} logs)", stored)
        p_stale = describe("GET summary, stale (recomputed on read)", stale)
        print(f"{'  ratio stale / stored':<44} {p_stale / p_stored:.2f}x (what the scheduled recompute saves)")

        # One process serves every function here (Lambda runs one container per concurrent request), and the clients
        # share that process: this measures the local gateway's ceiling, not the service's scaling.
        print(f"\n== Local gateway ceiling: GET list, clients in the same process ({count * 4} requests) ==")
        throughput = {}
        for clients in (1, 4):
            throughput[clients] = requests_per_second(base, token, clients, count * 4)
            print(
                f"{clients} client{'s' if clients > 1 else ' '}                                    "
                f"{throughput[clients]:8.0f} requests/s"
            )
        print(
            f"{'  ratio 4 clients / 1 client':<44} {throughput[4] / throughput[1]:.2f}x (one Python process: the GIL)"
        )

        as_of = datetime.now(UTC).isoformat()
        projection = timed(count, lambda n: session.get(f"{base}/api/progress/bench-reader", params={"limit": 100}))
        travel = timed(
            count, lambda n: session.get(f"{base}/api/progress/bench-reader", params={"limit": 100, "as_of": as_of})
        )
        p_projection = describe("GET list from the projection", projection)
        p_travel = describe("GET list as_of (folded from events)", travel)
        print(f"{'  ratio as_of / projection':<44} {p_travel / p_projection:.2f}x")
        goals_and_series(session, base, get_database(), count)
        server.close()


def round_trip_table(database_url: str) -> None:
    """Round trips per endpoint at the wire (localdev/round_trips.py): the in-process gateway on a warm connection."""
    from localdev.gateway import LocalGateway
    from localdev.round_trips import in_process, measure, print_table
    from localdev.template import load_api
    from localdev.wire import RoundTripCounter

    key = SigningKey.generate()
    with JwksStub(key.jwks()) as jwks, UserProfileStub(known=None) as users, RoundTripCounter(database_url) as counter:
        configure_in_process(counter.url(database_url), jwks, users)
        from progress_tracking.db import get_database
        from progress_tracking.migrations import migrate

        migrate(get_database())
        token = key.access_token(issuer=ISSUER, audience=AUDIENCE, client=True)
        call = in_process(LocalGateway(load_api(ROOT / "template.yaml")), token)
        import contextlib
        import io
        import warnings

        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # the handlers' metrics (EMF)
            warnings.simplefilter("ignore")
            trips = measure(call, counter, "bench-round-trips")
        print("\n== Database round trips per request, counted at the wire ==")
        print_table(trips)
        get_database().close()


# Production's distances (the issue's): Neon in-region behind its pooler, Auth0's JWKS, the User Profile service.
DATABASE_ROUND_TRIP, JWKS_ROUND_TRIP, USER_PROFILE_ROUND_TRIP = 0.002, 0.040, 0.010
DistantRequest = tuple[str, dict[str, object] | None, dict[str, str] | None]  # path, body, query


def at_a_distance(database_url: str, count: int) -> None:
    """Median latency of reads and writes with the database, the JWKS and the User Profile service at production's
    distance: this design on a warm container vs the naive one, which downloads the JWKS, opens a new database
    connection and asks the User Profile service on every request. The naive side runs today's handlers (their
    statements in 1-2 round trips) with every cache dropped between requests, so its times are a floor for the first
    version's design, and the ratios a floor for the gain; a new connection here is TCP + startup in plain text with
    trust auth (2 round trips; Neon's TLS and SCRAM take about 5 more)."""
    from localdev.gateway import LocalGateway
    from localdev.round_trips import in_process
    from localdev.template import load_api
    from localdev.wire import RoundTripCounter
    from progress_tracking import tokens, user_service

    key = SigningKey.generate()
    with (
        JwksStub(key.jwks()) as jwks,
        UserProfileStub(known=None) as users,
        RoundTripCounter(database_url, round_trip_delay=DATABASE_ROUND_TRIP) as distant,
    ):
        jwks.delay = JWKS_ROUND_TRIP
        users.mode, users.delay = "slow", USER_PROFILE_ROUND_TRIP
        configure_in_process(distant.url(database_url), jwks, users)
        from progress_tracking.db import get_database
        from progress_tracking.migrations import migrate

        migrate(get_database())
        api = load_api(ROOT / "template.yaml")
        token = key.access_token(issuer=ISSUER, audience=AUDIENCE, client=True)
        user = "bench-distance"
        day = iter(date(2000, 1, 1) + timedelta(days=n) for n in range(1_000_000))

        def entry() -> dict[str, object]:
            return {"user_id": user, "date": next(day).isoformat(), "weight_kg": 80.5, "workout_done": "running"}

        warm = in_process(LocalGateway(api), token)
        _, log = warm("POST", "/api/progress/log", body=entry())
        # name: (read or write, method, what to send)
        endpoints: dict[str, tuple[str, str, Callable[[], DistantRequest]]] = {
            "GET list page": ("read", "GET", lambda: (f"/api/progress/{user}", None, {"limit": "100"})),
            "GET summary": ("read", "GET", lambda: (f"/api/progress/summary/{user}", None, None)),
            "GET history": ("read", "GET", lambda: (f"/api/progress/log/{log['id']}/history", None, None)),
            "POST log": ("write", "POST", lambda: ("/api/progress/log", entry(), None)),
            "PUT log": ("write", "PUT", lambda: (f"/api/progress/log/{log['id']}", {"calories_burned": 300}, None)),
        }

        def sample(name: str, naive: bool) -> float:
            call = warm
            if naive:  # a container that keeps nothing between requests
                get_database().close()
                tokens.cached_verifier.cache_clear()
                user_service.get_user_service.cache_clear()
                call = in_process(LocalGateway(api), token)  # a gateway without the authorizer's cached policy
            _, method, request = endpoints[name]
            path, body, params = request()
            started = time.perf_counter()
            status, answer = call(method, path, body=body, params=params)
            elapsed = (time.perf_counter() - started) * 1000
            assert status < 300, answer
            return elapsed

        import contextlib
        import io
        import warnings

        medians: dict[tuple[str, bool], float] = {}
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # the handlers' metrics (EMF)
            warnings.simplefilter("ignore")
            for name in endpoints:
                # The naive side drops what the warm side keeps (a connection with its plans, the keys, the
                # remembered user), so each side runs as a block, the warm one after a request that warms it.
                medians[name, True] = statistics.median(sample(name, naive=True) for _ in range(count))
                sample(name, naive=False)
                medians[name, False] = statistics.median(sample(name, naive=False) for _ in range(count))

        print(
            f"\n== At production's distance (database {DATABASE_ROUND_TRIP * 1000:.0f} ms, JWKS"
            f" {JWKS_ROUND_TRIP * 1000:.0f} ms, User Profile {USER_PROFILE_ROUND_TRIP * 1000:.0f} ms a round trip;"
            f" medians of {count}) =="
        )
        print(f"{'request':<16} {'naive design ms':>16} {'this design ms':>15} {'ratio':>7}  goal")
        for name, (kind, _, _) in endpoints.items():
            naive, now = medians[name, True], medians[name, False]
            goal = 10 if kind == "read" else 4
            verdict = "ok" if naive / now >= goal else "SHORT"
            print(f"{name:<16} {naive:>16.1f} {now:>15.1f} {naive / now:>6.1f}x  >= {goal}x {verdict}")
        get_database().close()


def goals_and_series(session: requests.Session, base: str, database, count: int) -> None:
    """A year of daily logs: the weekly series for charts and the summary with goal progress."""
    print("\n== Goals and series: a year of daily logs (365) ==")
    seed_user(database, "bench-goals", 365)
    session.put(
        f"{base}/api/progress/goals/bench-goals",
        json={"target_weight_kg": 80, "weekly_workouts": 3, "weekly_calories_burned": 1500},
    )
    params = {"bucket": "week", "from": "2021-01-01", "to": "2021-12-31"}
    weekly = timed(count, lambda n: session.get(f"{base}/api/progress/series/bench-goals", params=params))
    describe("GET series?bucket=week (53 buckets)", weekly)
    summary = f"{base}/api/progress/summary/bench-goals"
    session.get(summary)
    stored = timed(count, lambda n: session.get(summary))
    describe("GET summary with goals, stored", stored)
    stale = []
    for n in range(count):
        session.put(
            f"{base}/api/progress/goals/bench-goals", json={"target_weight_kg": 80, "weekly_workouts": 3 + n % 2}
        )
        stale += timed(1, lambda _: session.get(summary))
    describe("GET summary with goals, stale (after a goal change)", stale)


def requests_per_second(base: str, token: str, clients: int, total: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    def client(share: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for _ in range(share):
            assert session.get(f"{base}/api/progress/bench-reader", params={"limit": 20}).status_code == 200

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, [total // clients] * clients))
    return total / (time.perf_counter() - started)


def seed_user(database, user_id: str, logs: int) -> None:
    from progress_tracking.store import appending

    change = appending.Change(actor="bench", request_id=None)

    def work(cursor):
        for n in range(logs):
            fields = {
                "date": date(2021, 1, 1) + timedelta(days=n),
                "weight_kg": 90 - n / 100,
                "workout_done": ("running", "yoga", "cycling")[n % 3],
                "calories_burned": 200 + n % 300,
            }
            appending.log_new(cursor, user_id, fields, change)

    database.run(work)


def deep_cursor(session: requests.Session, base: str, logs: int) -> str:
    from progress_tracking.paging import list_cursor

    last = date(2021, 1, 1) + timedelta(days=logs - 101)
    body = session.get(
        f"{base}/api/progress/bench-reader", params={"to": last.isoformat(), "limit": 1, "from": last.isoformat()}
    ).json()
    return list_cursor(last, body["progress_logs"][0]["log_id"])


def recompute_throughput(database_url: str, events: int) -> None:
    from progress_tracking import summaries
    from progress_tracking.db import Database
    from progress_tracking.migrations import migrate
    from progress_tracking.store import appending

    database = Database(database_url)
    migrate(database)
    summaries.recompute(database, lambda: 10**9)
    users = max(1, events // 20)
    change = appending.Change(actor="bench", request_id=None)

    def work(cursor):
        for n in range(events):
            appending.log_new(
                cursor,
                f"recompute-{n % users}",
                {"date": date(2022, 1, 1) + timedelta(days=n % 365), "weight_kg": 70.0},
                change,
            )

    started = time.perf_counter()
    database.run(work)
    appended = time.perf_counter() - started
    started = time.perf_counter()
    report = summaries.recompute(database, lambda: 10**9)
    elapsed = time.perf_counter() - started
    print(f"\n== Event store ({events} events, {users} users) ==")
    print(f"append (log_new, one transaction)            {events / appended:8.0f} events/s")
    print(
        f"recompute summaries                          {events / elapsed:8.0f} events/s, "
        f"{report.users / elapsed:6.0f} users/s, {report.batches} batches in {elapsed:.2f} s"
    )
    database.close()


def soak(argv: list[str]) -> int:
    from localdev.load import (
        AppProcess,
        MixedLoad,
        environment,
        percentiles,
        server_errors,
        undocumented,
        verify,
    )

    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--users", type=int, default=6)
    args = parser.parse_args(argv)
    key = SigningKey.generate()
    users = [f"soak-user-{n}" for n in range(args.users)]
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"Soak: {args.minutes:g} min, {args.clients} clients, {args.users} users, every endpoint, app as a process")
    with tempfile.TemporaryDirectory() as scratch, postgres_server(Path(scratch) / "pg") as server:  # noqa: SIM117
        with (
            scratch_database(server, "progress_soak") as url,
            JwksStub(key.jwks()) as jwks,
            UserProfileStub() as profiles,
        ):
            env = environment(
                DATABASE_URL=url,
                AUTH0_ISSUER=ISSUER,
                AUTH0_AUDIENCE=AUDIENCE,
                AUTH0_JWKS_URL=jwks.jwks_url,
                USER_SVC_BASE_URL=profiles.base_url,
            )
            app = AppProcess(env, Path(scratch) / "app")
            app.start()
            tokens = {user: key.access_token(issuer=ISSUER, audience=AUDIENCE, user_id=user) for user in users}
            load = MixedLoad(app.url, users, tokens.__getitem__, clients=args.clients, think=0.0)
            try:
                load.start()
                time.sleep(min(10.0, args.minutes * 6))
                rss_start = app.rss_kb()
                started = time.monotonic()
                mark = load.ledger.mark()
                time.sleep(max(0.0, args.minutes * 60 - min(10.0, args.minutes * 6)))
                outcomes, _ = load.ledger.since(mark)
                elapsed = time.monotonic() - started
                rss_end = app.rss_kb()
            finally:
                load.stop()
                app.stop()
            verdict = verify(url, load.ledger, users)
    answered = [o for o in outcomes if o.status is not None]
    print(f"\nrequests {len(outcomes)} in {elapsed:.0f} s: {len(answered) / elapsed:.0f} requests/s")
    print(f"{'endpoint':<20} {'2xx':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for endpoint, (count, p50, p95, p99) in percentiles(outcomes).items():
        print(f"{endpoint:<20} {count:>7} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}")
    statuses: dict[int | None, int] = {}
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    print(f"statuses: {dict(sorted(statuses.items(), key=lambda item: item[0] or 0))}")
    print(f"app RSS: {rss_start / 1024:.1f} MB after warm-up, {rss_end / 1024:.1f} MB at the end")
    print(
        f"invariants: {verdict.acknowledged_writes} acknowledged writes, lost {len(verdict.lost_writes)}, "
        f"duplicated {len(verdict.duplicated_writes)}, half-written {len(verdict.half_written)}, projection drift "
        f"{len(verdict.projection_drift)}, summary drift {len(verdict.summary_drift)}, "
        f"5xx {dict(server_errors(outcomes))}, undocumented answers {len(undocumented(outcomes))}"
    )
    healthy = verdict.ok and not undocumented(outcomes)
    print("OK" if healthy else "FAILED")
    return 0 if healthy else 1


def main() -> None:
    from localdev.template import fixed_environment

    for name, value in fixed_environment(ROOT / "template.yaml").items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    if sys.argv[1:2] == ["scale"]:
        from bench import scale

        scale.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["capacity"]:
        from bench import capacity

        capacity.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["derived"]:
        from bench import derived

        derived.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["portability"]:
        from bench import portability

        portability.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["batch"]:
        from bench import batch

        batch.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["round-trips"]:
        with (
            tempfile.TemporaryDirectory() as scratch,
            postgres_server(Path(scratch) / "pg") as server,
            scratch_database(server, "progress_round_trips") as url,
        ):
            round_trip_table(url)
        return
    if sys.argv[1:2] == ["distance"]:
        with (
            tempfile.TemporaryDirectory() as scratch,
            postgres_server(Path(scratch) / "pg") as server,
            scratch_database(server, "progress_distance") as url,
        ):
            at_a_distance(url, int(sys.argv[2]) if len(sys.argv) > 2 else 40)
        return
    if sys.argv[1:2] == ["soak"]:
        sys.exit(soak(sys.argv[2:]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--logs", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--skip-build", action="store_true", help="reuse .aws-sam/build from `make build`")
    parser.add_argument("--cold-start-only", action="store_true", help="only the cold start table")
    args = parser.parse_args()
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if args.cold_start_only:
        build = ROOT / ".aws-sam" / "build" if args.skip_build else Path(tempfile.mkdtemp()) / "build"
        cold_starts(build, args.skip_build)
        return
    with tempfile.TemporaryDirectory() as scratch:
        cold_starts(ROOT / ".aws-sam" / "build" if args.skip_build else Path(scratch) / "build", args.skip_build)
        with postgres_server(Path(scratch) / "pg") as server:
            with scratch_database(server, "progress_bench") as url:
                requests_through_the_gateway(url, args.requests, args.logs)
            with scratch_database(server, "progress_bench") as url:
                recompute_throughput(url, args.events)
            with scratch_database(server, "progress_round_trips") as url:
                round_trip_table(url)
            with scratch_database(server, "progress_distance") as url:
                at_a_distance(url, 40)
    from bench import batch, capacity, derived, portability

    batch.main([])
    capacity.main([])
    derived.main([])
    portability.main([])


if __name__ == "__main__":
    main()
