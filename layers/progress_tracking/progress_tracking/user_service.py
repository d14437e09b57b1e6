"""Client of the User Profile service: asks whether a user exists before anything is logged for them.

The standard library's `http.client`, not `requests`: one kept-alive connection per thread does all this client
needs, and `requests` (urllib3, idna, charset_normalizer, certifi) would add tens of milliseconds to the cold start of
every function that calls the service. HTTPS verifies against the system's certificate store.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import quote, urlsplit

from progress_tracking import metric_catalog, snapstart
from progress_tracking.config import get_settings
from progress_tracking.errors import UserServiceUnavailable
from progress_tracking.observability import logger

# 3 s at most in all (1 s to connect, 2 s to answer), so a slow User Profile service cannot eat the function's time.
REQUEST_TIMEOUT = (1.0, 2.0)
# Confirmed users one container remembers at most; past that it starts again (a container serves few users).
MAX_CONFIRMED_USERS = 10_000
# What a kept-alive connection the service has since closed looks like when it is used again: safe to ask once more
# on a new connection (the request is a GET, and nothing of an answer came back).
_CLOSED_WHILE_IDLE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class UserServiceClient:
    """Asks the service; a "yes" is remembered for `cache_seconds`, a "no" or a failure never."""

    def __init__(
        self,
        base_url: str,
        timeout: tuple[float, float] = REQUEST_TIMEOUT,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._confirmed_until: dict[str, float] = {}
        url = urlsplit(self.base_url)
        self._scheme, self._host, self._path = url.scheme, url.hostname or "", url.path
        self._port = url.port
        self._local = threading.local()  # an HTTPConnection is not thread-safe; the local gateway has threads

    def user_exists(self, user_id: str) -> bool:
        """True or False as the service says; UserServiceUnavailable when it cannot say."""
        if self._confirmed_until.get(user_id, 0.0) > self._clock():
            return True
        exists = self._ask(user_id)
        if exists and self.cache_seconds > 0:
            if len(self._confirmed_until) >= MAX_CONFIRMED_USERS:
                self._confirmed_until.clear()
            self._confirmed_until[user_id] = self._clock() + self.cache_seconds
        return exists

    def _ask(self, user_id: str) -> bool:
        path = f"{self._path}/validate/{quote(user_id, safe='')}"
        started = time.perf_counter()
        try:
            status, body = self._get(path)
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, reset, malformed
            self._disconnect()
            self._failed("unreachable", type(exc).__name__)
            raise UserServiceUnavailable() from exc
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            metric_catalog.USER_SERVICE_LATENCY.record(elapsed_ms)
        valid = _valid_flag(body) if status in (200, 404) else None
        if valid is None:
            self._failed("unexpected answer", f"HTTP {status}")
            raise UserServiceUnavailable()
        return valid

    def _get(self, path: str) -> tuple[int, bytes]:
        """One GET on this thread's connection; if a kept-alive connection turns out closed, once more on a new one."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and connection.sock is not None:
            try:
                return _exchange(connection, path)
            except _CLOSED_WHILE_IDLE:
                self._disconnect()
        return _exchange(self._connect(), path)

    def _connect(self) -> http.client.HTTPConnection:
        connect_timeout, read_timeout = self.timeout
        kind = {"http": http.client.HTTPConnection, "https": http.client.HTTPSConnection}.get(self._scheme)
        if kind is None or not self._host:
            raise http.client.InvalidURL(f"not an http(s) URL: {self.base_url}")
        connection = kind(self._host, self._port, timeout=connect_timeout)
        self._local.connection = connection
        connection.connect()
        connection.sock.settimeout(read_timeout)  # connected: from here on each read may wait this long
        return connection

    def _disconnect(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    @staticmethod
    def _failed(reason: str, detail: str) -> None:
        metric_catalog.USER_SERVICE_FAILURES.record(1)
        logger.warning("User Profile service call failed", extra={"reason": reason, "detail": detail})


def _exchange(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    # The whole body is read, so the connection is ready for the next request (http.client closes it by itself
    # when the service said it would).
    connection.request("GET", path, headers={"Accept": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


def _valid_flag(body: bytes) -> bool | None:
    try:
        valid = json.loads(body).get("valid")
    except (ValueError, AttributeError):
        return None
    return valid if isinstance(valid, bool) else None


@lru_cache(maxsize=1)
def get_user_service() -> UserServiceClient:
    """The container's client, forgotten after a SnapStart restore (its remembered users, its connection)."""
    snapstart.forget_after_restore(get_user_service.cache_clear)
    settings = get_settings()
    return UserServiceClient(settings.user_svc_base_url, cache_seconds=settings.user_svc_cache_seconds)
