"""Client of the User Profile service: asks whether a user exists before anything is logged for them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import quote

import requests
from aws_lambda_powertools.metrics import MetricUnit

from progress_tracking.config import get_settings
from progress_tracking.errors import UserServiceUnavailable
from progress_tracking.observability import logger, metrics

# 3 s at most in all (1 s to connect, 2 s to answer), so a slow User Profile service cannot eat the function's time.
REQUEST_TIMEOUT = (1.0, 2.0)
# Confirmed users one container remembers at most; past that it starts again (a container serves few users).
MAX_CONFIRMED_USERS = 10_000


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
        self._local = threading.local()  # requests.Session is not thread-safe; the local gateway has threads

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
        url = f"{self.base_url}/validate/{quote(user_id, safe='')}"
        started = time.perf_counter()
        try:
            response = self._session().get(url, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            self._failed("unreachable", type(exc).__name__)
            raise UserServiceUnavailable() from exc
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            metrics.add_metric(name="UserServiceLatency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
        valid = _valid_flag(response) if response.status_code in (200, 404) else None
        if valid is None:
            self._failed("unexpected answer", f"HTTP {response.status_code}")
            raise UserServiceUnavailable()
        return valid

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    @staticmethod
    def _failed(reason: str, detail: str) -> None:
        metrics.add_metric(name="UserServiceFailures", unit=MetricUnit.Count, value=1)
        logger.warning("User Profile service call failed", extra={"reason": reason, "detail": detail})


def _valid_flag(response: requests.Response) -> bool | None:
    try:
        valid = response.json().get("valid")
    except (ValueError, AttributeError):
        return None
    return valid if isinstance(valid, bool) else None


@lru_cache(maxsize=1)
def get_user_service() -> UserServiceClient:
    settings = get_settings()
    return UserServiceClient(settings.user_svc_base_url, cache_seconds=settings.user_svc_cache_seconds)
