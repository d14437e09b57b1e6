"""Database round trips per endpoint, counted at the wire: the local gateway called in-process on one thread, its
DATABASE_URL going through a `RoundTripCounter`, every request made on a warm connection.

`python -m bench round-trips` prints the table; tests/integration/test_round_trips.py pins each number.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from localdev.gateway import LocalGateway
from localdev.wire import RoundTripCounter

Call = Callable[..., tuple[int, dict[str, Any]]]


def in_process(gateway: LocalGateway, token: str) -> Call:
    """`call(method, path, body=None, params=None, headers=None)` → (status, JSON body), no HTTP server between."""

    def call(
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        payload = json.dumps(body).encode() if body is not None else b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "REQUEST_URI": path,
            "QUERY_STRING": urlencode(params or {}),
            "CONTENT_LENGTH": str(len(payload)),
            "CONTENT_TYPE": "application/json",
            "wsgi.input": io.BytesIO(payload),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status, _, answer = gateway.handle(environ)
        return status, json.loads(answer) if answer else {}

    return call


def measure(call: Call, counter: RoundTripCounter, user_id: str) -> dict[str, int]:
    """Each endpoint's round trips, in the order of the bench table; every request must succeed."""
    trips: dict[str, int] = {}

    def count(name: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        with counter.counting() as n:
            status, body = call(method, path, **kwargs)
        if status >= 300:
            raise AssertionError(f"{name}: {status} {body}")
        trips[name] = n[0]
        return body

    def entry(day: str) -> dict[str, Any]:
        return {"user_id": user_id, "date": day, "weight_kg": 80.5, "workout_done": "running", "calories_burned": 300}

    call("POST", "/api/progress/log", body=entry("2026-01-01"))  # warms the connection and creates the stream
    log = count("POST log", "POST", "/api/progress/log", body=entry("2026-01-02"))
    key = {"Idempotency-Key": f"rt-{datetime.now(UTC).timestamp()}"}
    count("POST log, new Idempotency-Key", "POST", "/api/progress/log", body=entry("2026-01-03"), headers=key)
    count("POST log, replay", "POST", "/api/progress/log", body=entry("2026-01-03"), headers=key)
    in_pounds = {"user_id": user_id, "date": "2026-01-04", "weight_lb": 177.4, "source": "withings"}
    count("POST log, lb and source", "POST", "/api/progress/log", body=in_pounds)
    record = {**entry("2026-01-04"), "source": "health-connect", "client_record_id": "rt-1", "client_version": 1}
    count("POST log, client record id", "POST", "/api/progress/log", body=record)
    count("POST log, client record id, same version", "POST", "/api/progress/log", body=record)
    batch = [
        {
            "date": f"2026-02-{1 + n % 28:02d}",
            "weight_kg": 80 + n / 100,
            "client_record_id": f"b-{n}",
            "client_version": 1,
        }
        for n in range(500)
    ]
    count("POST logs batch, 500 logs", "POST", "/api/progress/logs/batch", body={"user_id": user_id, "logs": batch})
    path = f"/api/progress/log/{log['id']}"
    count("PUT log", "PUT", path, body={"weight_kg": 79.9})
    count("DELETE log", "DELETE", path)
    count("POST rollback", "POST", f"{path}/rollback", body={"to_version": 2})
    count("GET history", "GET", f"{path}/history")
    logs = f"/api/progress/{user_id}"
    count("GET list page", "GET", logs, params={"limit": "10"})
    count("GET list as_of", "GET", logs, params={"limit": "10", "as_of": datetime.now(UTC).isoformat()})
    count("GET list, source and imperial", "GET", logs, params={"source": "withings", "units": "imperial"})
    summary = f"/api/progress/summary/{user_id}"
    count("GET summary, stale", "GET", summary)
    count("GET summary, current", "GET", summary)
    count("GET summary, from-to", "GET", summary, params={"from": "2026-01-01", "to": "2026-01-31"})
    count("GET summary, imperial", "GET", summary, params={"units": "imperial"})
    goals = f"/api/progress/goals/{user_id}"
    count("PUT goals", "PUT", goals, body={"target_weight_kg": 75, "weekly_workouts": 3})
    count("PATCH goals", "PATCH", goals, body={"weekly_workouts": 4, "target_weight_kg": None})
    count("GET goals", "GET", goals)
    count("GET goals history", "GET", f"{goals}/history")
    count("DELETE goals", "DELETE", goals)
    series = f"/api/progress/series/{user_id}"
    window = {"bucket": "week", "from": "2026-01-01", "to": "2026-02-28"}
    count("GET series", "GET", series, params=window)
    count("GET series as_of", "GET", series, params={**window, "as_of": datetime.now(UTC).isoformat()})
    changes = f"/api/progress/changes/{user_id}"
    first = count("GET changes", "GET", changes, params={"limit": "3"})
    count("GET changes, since", "GET", changes, params={"since": first["next_token"]})
    export = f"/api/progress/export/{user_id}"
    export_page = count("GET export, page 1", "GET", export, params={"limit": "2"})
    count("GET export, next page", "GET", export, params={"limit": "2", "cursor": export_page["next_cursor"]})
    count("DELETE all of a user's logs", "DELETE", f"/api/progress/user/{user_id}/logs")
    return trips


def print_table(trips: dict[str, int]) -> None:
    print(f"{'request (warm connection)':<40} {'round trips':>11}")
    for name, n in trips.items():
        print(f"{name:<40} {n:>11}")
