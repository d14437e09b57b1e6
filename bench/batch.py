"""The batch upsert beside single POSTs: 500 logs in one request vs 500 requests of one log.

    python -m bench batch [--rounds 10] [--size 500]

Each request goes through the local gateway in this process (real authorizer, handler, Postgres), on a warm
connection whose round trips are counted at the wire (localdev.wire). Printed: the median time of a batch of `size`
logs (new, then the same again: every item unchanged, then every item at a higher version), the median of a single
POST and the time of `size` of them in a row, and the round trips of each; then what the round trips alone would
cost at production's distance (2 ms a round trip to Neon in-region). Numbers, never assertions: docs/performance.md
keeps them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.in_process import AUDIENCE, ISSUER, configure_in_process
from localdev.databases import postgres_server, scratch_database
from localdev.dev_issuer import SigningKey
from localdev.stubs import JwksStub, UserProfileStub

DATABASE_ROUND_TRIP_MS = 2.0
ROOT = Path(__file__).resolve().parent.parent


def _items(size: int, version: int, offset: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "date": (date(2024, 1, 1) + timedelta(days=n)).isoformat(),
            "weight_kg": 80 - n / 1000,
            "workout_done": "running",
            "calories_burned": 300,
            "source": "bench-watch",
            "client_record_id": f"rec-{offset + n}",
            "client_version": version,
        }
        for n in range(size)
    ]


def _timed(call: Callable[[], tuple[int, dict[str, Any]]]) -> float:
    started = time.perf_counter()
    status, body = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert status < 300, body
    return elapsed


def run(database_url: str, rounds: int, size: int) -> None:
    from localdev.gateway import LocalGateway
    from localdev.round_trips import in_process
    from localdev.template import load_api
    from localdev.wire import RoundTripCounter

    key = SigningKey.generate()
    with JwksStub(key.jwks()) as jwks, UserProfileStub(known=None) as users, RoundTripCounter(database_url) as counter:
        configure_in_process(counter.url(database_url), jwks, users)
        from progress_tracking import db
        from progress_tracking.migrations import migrate

        migrate(db.get_database())
        call = in_process(
            LocalGateway(load_api(ROOT / "template.yaml")),
            key.access_token(issuer=ISSUER, audience=AUDIENCE, client=True),
        )
        batch_times: dict[str, list[float]] = {"new": [], "unchanged": [], "higher version": []}
        trips: dict[str, list[int]] = {name: [] for name in batch_times}
        single_times: list[float] = []
        single_trips: list[int] = []
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # the handlers' metrics (EMF)
            warnings.simplefilter("ignore")
            call("POST", "/api/progress/log", body={"user_id": "bench-warm", "date": "2026-01-01", "weight_kg": 80})
            for r in range(rounds):
                user = f"bench-batch-{r}"
                for name, version in (("new", 1), ("unchanged", 1), ("higher version", 2)):
                    body = {"user_id": user, "logs": _items(size, version)}
                    with counter.counting() as n:
                        batch_times[name].append(
                            _timed(lambda body=body: call("POST", "/api/progress/logs/batch", body=body))
                        )
                    trips[name].append(n[0])
            single_user = "bench-single"
            started = time.perf_counter()
            for item in _items(size, 1):
                with counter.counting() as n:
                    single_times.append(
                        _timed(
                            lambda item=item: call("POST", "/api/progress/log", body={"user_id": single_user, **item})
                        )
                    )
                single_trips.append(n[0])
            singles_total = (time.perf_counter() - started) * 1000
        db.get_database().close()

    print(f"\n== Batch upsert: {size} logs in one request vs {size} single POSTs ({rounds} batches each) ==")
    print(f"{'request':<44} {'median':>10} {'round trips':>12} {'at 2 ms/trip':>13}")
    for name, samples in batch_times.items():
        median_trips = statistics.median(trips[name])
        print(
            f"{f'POST logs/batch, {size} logs, {name}':<44} {statistics.median(samples):7.1f} ms {median_trips:>12.0f}"
            f" {median_trips * DATABASE_ROUND_TRIP_MS:>10.0f} ms"
        )
    single_median_trips = statistics.median(single_trips)
    print(
        f"{'POST log (one log, client record id)':<44} {statistics.median(single_times):7.2f} ms"
        f" {single_median_trips:>12.0f} {single_median_trips * DATABASE_ROUND_TRIP_MS:>10.0f} ms"
    )
    print(
        f"{f'{size} single POSTs in a row':<44} {singles_total:7.0f} ms {sum(single_trips):>12}"
        f" {sum(single_trips) * DATABASE_ROUND_TRIP_MS:>10.0f} ms"
    )
    per_log_batch = statistics.median(batch_times["new"]) / size
    per_log_single = singles_total / size
    print(
        f"{'  per log: batch / single':<44} {per_log_batch:.3f} ms / {per_log_single:.3f} ms"
        f" = {per_log_single / per_log_batch:.0f}x fewer ms a log in a batch"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench batch", description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--size", type=int, default=500)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as scratch,
        postgres_server(Path(scratch) / "pg") as server,
        scratch_database(server, "progress_batch") as url,
    ):
        run(url, args.rounds, args.size)
