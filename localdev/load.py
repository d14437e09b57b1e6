"""A mixed load against the local app as a real process, and the invariants checked after it.

Shared by the resilience suite (tests/resilience: faults injected under this load) and the soak (`make bench
ARGS="soak --minutes N"`). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import requests

ROOT = Path(__file__).resolve().parent.parent
# The answers a correct service may give under faults; anything else (400, 422, 500, 502, …) is a defect.
EXPECTED_STATUSES = {200, 201, 401, 404, 409, 412, 503}
WRITE_ENDPOINTS = {"POST log", "PUT log", "DELETE log", "POST rollback", "DELETE user logs"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AppProcess:
    """`progress_tracking_app.py` as a real process on a fixed loopback port, so a restart keeps its address."""

    def __init__(self, env: dict[str, str], data_dir: Path, port: int | None = None, threads: int = 8) -> None:
        self.env = env
        self.data_dir = data_dir
        self.port = port or free_port()
        self.threads = threads
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "app.log"

    def start(self, timeout: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "progress_tracking_app.py", "--port", str(self.port), "--threads",
                 str(self.threads), "--data-dir", str(self.data_dir)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the app did not start listening")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as when a Lambda container is frozen and discarded mid-request."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kb(self) -> int:
        if not self.process:
            return 0
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


@dataclass
class Outcome:
    endpoint: str
    status: int | None  # None: no HTTP answer at all (connection refused or reset, timeout)
    code: str | None
    retry_after: str | None
    seconds: float
    at: float


@dataclass
class Ack:
    """A write the service acknowledged with a 2xx: it must be in the event log exactly once."""

    endpoint: str
    request_id: str
    log_id: int | None = None
    version: int | None = None
    marker: str | None = None  # the notes the write set, unique to it
    count: int | None = None  # DELETE user logs: how many logs it deleted
    replayed: bool = False


@dataclass
class Ledger:
    outcomes: list[Outcome] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    unacknowledged_markers: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self) -> tuple[int, int]:
        with self.lock:
            return len(self.outcomes), len(self.acks)

    def since(self, mark: tuple[int, int]) -> tuple[list[Outcome], list[Ack]]:
        with self.lock:
            return self.outcomes[mark[0] :], self.acks[mark[1] :]


Tokens = Callable[[str], str]  # user id → bearer token (a callable, so a key rotation can swap it)


class MixedLoad:
    """Client threads calling every endpoint for several users, recording every answer and every acknowledged write."""

    WEIGHTS: ClassVar[dict[str, int]] = {
        "POST log": 30,
        "GET list": 18,
        "GET summary": 14,
        "PUT log": 14,
        "GET history": 8,
        "DELETE log": 6,
        "POST rollback": 6,
        "DELETE user logs": 1,
        "GET list as_of": 3,
    }

    def __init__(self, base_url: str, users: list[str], tokens: Tokens, clients: int = 4, think: float = 0.01):
        self.base_url = base_url
        self.users = users
        self.tokens = tokens
        self.clients = clients
        self.think = think
        self.ledger = Ledger()
        self.known: dict[str, list[int]] = {user: [] for user in users}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> MixedLoad:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True, name=f"load-{n}") for n in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    # --- one client ---------------------------------------------------------------------------------------------

    def _client(self, number: int) -> None:
        rng = random.Random(number * 7919 + int(time.time()))
        session = requests.Session()
        endpoints = list(self.WEIGHTS)
        weights = list(self.WEIGHTS.values())
        while not self._stop.is_set():
            endpoint = rng.choices(endpoints, weights)[0]
            user = rng.choice(self.users)
            try:
                self._call(session, rng, endpoint, user)
            except Exception:
                session = requests.Session()
            if self.think:
                time.sleep(self.think)

    def _request(
        self, session: requests.Session, endpoint: str, method: str, path: str, user: str, **kwargs: Any
    ) -> requests.Response | None:
        headers = {"Authorization": f"Bearer {self.tokens(user)}", **kwargs.pop("headers", {})}
        started = time.monotonic()
        try:
            response = session.request(method, f"{self.base_url}{path}", headers=headers, timeout=15, **kwargs)
        except requests.RequestException:
            self._record(Outcome(endpoint, None, None, None, time.monotonic() - started, started))
            raise
        code = None
        if response.status_code >= 400:
            try:
                code = response.json().get("code")
            except ValueError:
                code = None
        self._record(
            Outcome(
                endpoint,
                response.status_code,
                code,
                response.headers.get("Retry-After"),
                time.monotonic() - started,
                started,
            )
        )
        return response

    def _record(self, outcome: Outcome) -> None:
        with self.ledger.lock:
            self.ledger.outcomes.append(outcome)

    def _ack(self, ack: Ack) -> None:
        with self.ledger.lock:
            self.ledger.acks.append(ack)

    def _pick_log(self, rng: random.Random, user: str) -> int | None:
        known = self.known[user]
        return rng.choice(known[-20:]) if known else None

    def _call(self, session: requests.Session, rng: random.Random, endpoint: str, user: str) -> None:
        if endpoint == "POST log":
            self._post(session, rng, user)
        elif endpoint == "GET list":
            response = self._request(session, endpoint, "GET", f"/api/progress/{user}", user, params={"limit": 50})
            if response is not None and response.status_code == 200:
                self.known[user] = [entry["log_id"] for entry in response.json()["progress_logs"]][-50:]
        elif endpoint == "GET list as_of":
            self._request(
                session, endpoint, "GET", f"/api/progress/{user}", user, params={"limit": 20, "as_of": _now_rfc3339()}
            )
        elif endpoint == "GET summary":
            self._request(session, endpoint, "GET", f"/api/progress/summary/{user}", user)
        elif endpoint == "DELETE user logs":
            response = self._request(session, endpoint, "DELETE", f"/api/progress/user/{user}/logs", user)
            if response is not None and response.status_code == 200:
                count = response.json()["deleted_log_count"]
                self._ack(Ack(endpoint, response.headers.get("X-Request-Id", ""), count=count))
                self.known[user] = []
        else:
            log_id = self._pick_log(rng, user)
            if log_id is None:
                self._post(session, rng, user)
                return
            self._change(session, rng, endpoint, user, log_id)

    def _post(self, session: requests.Session, rng: random.Random, user: str) -> None:
        marker = f"m-{uuid.uuid4().hex[:16]}"
        body = {
            "user_id": user,
            "date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "weight_kg": round(rng.uniform(50, 110), 1),
            "workout_done": rng.choice(["running", "yoga", "cycling", None]),
            "calories_burned": rng.randint(0, 900),
            "notes": marker,
        }
        # A careful client: one retry with the same Idempotency-Key when no answer or a 503 came back.
        for attempt in (1, 2):
            try:
                response = self._request(
                    session,
                    "POST log",
                    "POST",
                    "/api/progress/log",
                    user,
                    json=body,
                    headers={"Idempotency-Key": marker},
                )
            except requests.RequestException:
                response = None
            if response is not None and response.status_code == 201:
                log = response.json()["log"]
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                self._ack(
                    Ack("POST log", response.headers.get("X-Request-Id", ""), log["log_id"], 1, marker, None, replayed)
                )
                self.known[user].append(log["log_id"])
                return
            if response is not None and response.status_code != 503:
                break
            if attempt == 1:
                time.sleep(0.2)
        with self.ledger.lock:
            self.ledger.unacknowledged_markers.append(marker)

    def _change(self, session: requests.Session, rng: random.Random, endpoint: str, user: str, log_id: int) -> None:
        if endpoint == "GET history":
            self._request(session, endpoint, "GET", f"/api/progress/log/{log_id}/history", user)
            return
        marker = None
        if endpoint == "PUT log":
            marker = f"u-{uuid.uuid4().hex[:16]}"
            response = self._request(
                session, endpoint, "PUT", f"/api/progress/log/{log_id}", user, json={"notes": marker}
            )
            log = response.json()["updated_log"] if response is not None and response.status_code == 200 else None
        elif endpoint == "DELETE log":
            response = self._request(session, endpoint, "DELETE", f"/api/progress/log/{log_id}", user)
            log = None
            if response is not None and response.status_code == 200:
                self._ack(Ack(endpoint, response.headers.get("X-Request-Id", ""), log_id))
            return
        else:
            response = self._request(
                session, endpoint, "POST", f"/api/progress/log/{log_id}/rollback", user, json={"to_version": 1}
            )
            log = response.json()["log"] if response is not None and response.status_code == 200 else None
        if log is not None and response is not None:
            self._ack(Ack(endpoint, response.headers.get("X-Request-Id", ""), log_id, log["version"], marker))


def _now_rfc3339() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


# --- what a load run must leave behind ------------------------------------------------------------------------------


@dataclass
class Verdict:
    acknowledged_writes: int
    lost_writes: list[str]
    duplicated_writes: list[str]
    half_written: list[str]
    projection_drift: list[int]
    summary_drift: list[str]

    @property
    def ok(self) -> bool:
        return (
            not (self.lost_writes or self.duplicated_writes or self.half_written or self.projection_drift)
            and not self.summary_drift
        )


_EVENT_TYPE = {"POST log": "logged", "PUT log": "updated", "POST rollback": "restored"}


def verify(database_url: str, ledger: Ledger, users: list[str]) -> Verdict:
    """Every acknowledged write is in the event log exactly once and in the projection (the projection equals the
    events' fold); unacknowledged ones are whole or absent; the stored summaries equal a recompute."""
    from progress_tracking import summaries
    from progress_tracking.db import Cursor, Database
    from progress_tracking.store import rebuild, summary_facts

    database = Database(database_url, statement_timeout_ms=60_000)
    lost: list[str] = []
    duplicated: list[str] = []

    def counts(cursor: Cursor) -> dict[str, dict[tuple[Any, ...], int]]:
        """What the event log holds, counted set-based (a query per acknowledged write is quadratic at soak sizes)."""
        queries = {
            "version": "SELECT log_id, version, event_type, count(*) FROM progress_events GROUP BY 1, 2, 3",
            "marker": "SELECT event_type, data->>'notes', count(*) FROM progress_events"
            " WHERE data->>'notes' IS NOT NULL GROUP BY 1, 2",
            "deleted": "SELECT log_id, request_id, count(*) FROM progress_events WHERE event_type = 'deleted'"
            " GROUP BY 1, 2",
            "deleted_by_request": "SELECT request_id, count(*) FROM progress_events WHERE event_type = 'deleted'"
            " GROUP BY 1",
        }
        found: dict[str, dict[tuple[Any, ...], int]] = {}
        for name, query in queries.items():
            cursor.execute(query)
            found[name] = {tuple(row[:-1]): row[-1] for row in cursor.fetchall()}
        return found

    log = database.run(counts)
    for ack in ledger.acks:
        if ack.endpoint in _EVENT_TYPE:
            found = log["version"].get((ack.log_id, ack.version, _EVENT_TYPE[ack.endpoint]), 0)
            if ack.marker and found:  # the write's own content, exactly once however often the client retried
                found = log["marker"].get((_EVENT_TYPE[ack.endpoint], ack.marker), 0)
        elif ack.endpoint == "DELETE log":
            found = log["deleted"].get((ack.log_id, ack.request_id), 0)
        else:  # DELETE user logs: one deletion event per log it counted
            found = 1 if log["deleted_by_request"].get((ack.request_id,), 0) == ack.count else 0
        if found == 0:
            lost.append(f"{ack.endpoint} {ack.log_id} v{ack.version} {ack.marker or ack.request_id}")
        elif found > 1:
            duplicated.append(f"{ack.endpoint} {ack.log_id} v{ack.version} {ack.marker or ack.request_id}")

    def half_written(cursor: Cursor) -> list[str]:
        # Unacknowledged writes were committed (the answer was lost) or not at all; never twice.
        problems = [
            f"unacknowledged {marker} written twice"
            for marker in ledger.unacknowledged_markers
            if log["marker"].get(("logged", marker), 0) > 1
        ]
        # Every event moves its user's stream in the same transaction: the stream is never behind its newest event.
        cursor.execute(
            "SELECT e.user_id FROM (SELECT user_id, max(occurred_at) AS newest FROM progress_events"
            " WHERE user_id = ANY(%s) GROUP BY user_id) AS e LEFT JOIN user_streams AS s USING (user_id)"
            " WHERE s.last_at IS NULL OR s.last_at < e.newest",
            (users,),
        )
        problems += [f"stream of {row[0]} does not reflect its newest event" for row in cursor.fetchall()]
        return problems

    half = database.run(half_written)
    drift = database.run(rebuild.compare_projection)
    summaries.recompute(database, lambda: 10**9)

    def summary_drift(cursor: Cursor) -> list[str]:
        different = []
        for user in users:
            stored = summary_facts.stored_summary(cursor, user)
            fresh = summary_facts.facts_in_range(cursor, user)
            if stored is not None and not stored[1].agrees_with(fresh):
                different.append(user)
        return different

    summary_problems = database.run(summary_drift)
    database.close()
    return Verdict(
        acknowledged_writes=len(ledger.acks),
        lost_writes=lost,
        duplicated_writes=duplicated,
        half_written=half,
        projection_drift=drift.missing + drift.unexpected + drift.different + drift.states_differ,
        summary_drift=summary_problems
        + [f"months' facts of {user} differ from their logs'" for user in drift.facts_differ],
    )


# --- reporting --------------------------------------------------------------------------------------------------------


def undocumented(outcomes: list[Outcome]) -> list[Outcome]:
    """Answers a correct service never gives: an unexpected status, or a 503 without its code and Retry-After."""
    return [
        outcome
        for outcome in outcomes
        if outcome.status is not None
        and (
            outcome.status not in EXPECTED_STATUSES
            or (outcome.status == 503 and not (outcome.code and outcome.retry_after))
        )
    ]


def server_errors(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(f"{o.status} {o.code}" for o in outcomes if o.status is not None and o.status >= 500)


def percentiles(outcomes: list[Outcome]) -> dict[str, tuple[int, float, float, float]]:
    """Per endpoint: answers, p50, p95, p99 in ms (2xx only)."""
    by_endpoint: dict[str, list[float]] = {}
    for outcome in outcomes:
        if outcome.status is not None and outcome.status < 300:
            by_endpoint.setdefault(outcome.endpoint, []).append(outcome.seconds * 1000)
    result = {}
    for endpoint, samples in sorted(by_endpoint.items()):
        if len(samples) < 2:
            samples = samples * 2
        cuts = statistics.quantiles(samples, n=100)
        result[endpoint] = (len(samples), statistics.median(samples), cuts[94], cuts[98])
    return result


def wait_until_answering_normally(base_url: str, user: str, token: str, timeout: float = 15) -> float:
    """Seconds until a write and a read both succeed again (raises after `timeout`)."""
    started = time.monotonic()
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"user_id": user, "date": "2025-06-01", "weight_kg": 70.0, "notes": "probe"}
    while time.monotonic() - started < timeout:
        try:
            write = session.post(f"{base_url}/api/progress/log", json=body, headers=headers, timeout=5)
            read = session.get(f"{base_url}/api/progress/summary/{user}", headers=headers, timeout=5)
            if write.status_code == 201 and read.status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the service did not answer normally within {timeout} s of the fault ending")


def environment(**values: str) -> dict[str, str]:
    """This process's environment plus `values`, with the service's own settings only from `values`."""
    service = ("DATABASE_URL", "DATABASE_SECRET_ARN", "USER_SVC_BASE_URL", "AUTH0_DOMAIN", "AUTH0_AUDIENCE")
    base = {name: value for name, value in os.environ.items() if name not in service}
    return {**base, "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true", **values}
