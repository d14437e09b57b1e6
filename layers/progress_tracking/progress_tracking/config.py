"""Settings: read from the environment once per container and passed down from there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from progress_tracking import snapstart

DEFAULT_USER_SVC_BASE_URL = "http://127.0.0.1:5001/api/users"
DEFAULT_USER_SVC_CACHE_SECONDS = 60.0
# Postgres's own default for a parallel query (max_parallel_workers_per_gather): the recompute's users side by side.
DEFAULT_SUMMARY_RECOMPUTE_CONNECTIONS = 2
# Where Lambda's Parameters and Secrets extension listens (its own default, and PARAMETERS_SECRETS_EXTENSION_HTTP_PORT).
DEFAULT_SECRETS_EXTENSION_PORT = 2773


@dataclass(frozen=True)
class Settings:
    """A frozen dataclass with its own few checks, not a pydantic model: every function reads the settings, and the
    authorizer (which has no other use for pydantic) would otherwise pay pydantic's import on each cold start."""

    database_url: str | None = None
    database_secret_arn: str | None = None
    secrets_extension_port: int = DEFAULT_SECRETS_EXTENSION_PORT  # 1 … 65535
    user_svc_base_url: str = DEFAULT_USER_SVC_BASE_URL
    # How long a container trusts the User Profile service's "this user exists" (0 = ask every time; at most 3600).
    user_svc_cache_seconds: float = DEFAULT_USER_SVC_CACHE_SECONDS
    # Auth0: the issuer and JWKS URL default from the tenant domain; either may be overridden.
    auth0_issuer: str | None = None
    auth0_jwks_url: str | None = None
    auth0_audiences: tuple[str, ...] = ()
    user_id_claim: str = "sub"
    cors_allow_origin: str | None = None
    # The relay's EventBridge bus, and how long one run keeps polling the log after catching up (0 = return at once;
    # at most 840).
    event_bus_name: str = "default"
    outbox_follow_seconds: float = 0
    # How many connections the scheduled recompute works on at once, a chunk of users each (1 … 8).
    summary_recompute_connections: int = DEFAULT_SUMMARY_RECOMPUTE_CONNECTIONS
    # The X-Ray SDK (Powertools' Tracer) in the functions; Lambda's active tracing needs none (observability.py).
    sdk_tracing: bool = False

    def __post_init__(self) -> None:
        _within("secrets_extension_port", self.secrets_extension_port, 1, 65535)
        _within("user_svc_cache_seconds", self.user_svc_cache_seconds, 0, 3600)
        _within("outbox_follow_seconds", self.outbox_follow_seconds, 0, 840)
        _within("summary_recompute_connections", self.summary_recompute_connections, 1, 8)
        for name in ("user_id_claim", "event_bus_name"):
            if not getattr(self, name):
                raise ValueError(f"{name}: must not be empty")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def value(name: str) -> str | None:
            raw = env.get(name, "").strip()
            return raw or None

        domain = value("AUTH0_DOMAIN")
        if domain:
            domain = domain.removeprefix("https://").removeprefix("http://").rstrip("/")
        issuer = value("AUTH0_ISSUER") or (f"https://{domain}/" if domain else None)
        jwks_url = value("AUTH0_JWKS_URL") or (f"https://{domain}/.well-known/jwks.json" if domain else None)
        audiences = tuple(part.strip() for part in (value("AUTH0_AUDIENCE") or "").split(",") if part.strip())
        return cls(
            database_url=value("DATABASE_URL"),
            database_secret_arn=value("DATABASE_SECRET_ARN"),
            secrets_extension_port=_number(
                int,
                "secrets_extension_port",
                value("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"),
                DEFAULT_SECRETS_EXTENSION_PORT,
            ),
            user_svc_base_url=(value("USER_SVC_BASE_URL") or DEFAULT_USER_SVC_BASE_URL).rstrip("/"),
            user_svc_cache_seconds=_number(
                float, "user_svc_cache_seconds", value("USER_SVC_CACHE_SECONDS"), DEFAULT_USER_SVC_CACHE_SECONDS
            ),
            auth0_issuer=issuer,
            auth0_jwks_url=jwks_url,
            auth0_audiences=audiences,
            user_id_claim=value("USER_ID_CLAIM") or "sub",
            cors_allow_origin=value("CORS_ALLOW_ORIGIN"),
            event_bus_name=value("EVENT_BUS_NAME") or "default",
            outbox_follow_seconds=_number(float, "outbox_follow_seconds", value("OUTBOX_FOLLOW_SECONDS"), 0),
            summary_recompute_connections=_number(
                int,
                "summary_recompute_connections",
                value("SUMMARY_RECOMPUTE_CONNECTIONS"),
                DEFAULT_SUMMARY_RECOMPUTE_CONNECTIONS,
            ),
            sdk_tracing=(value("SDK_TRACING") or "false").lower() == "true",
        )


def _number(kind: type[int] | type[float], name: str, raw: str | None, default: float) -> Any:
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not {'an integer' if kind is int else 'a number'}") from None


def _within(name: str, number: float, low: float, high: float) -> None:
    # Written so that NaN fails too (every comparison with it is false).
    if not low <= number <= high:
        raise ValueError(f"{name}: {number!r} is not between {low} and {high}")


def aws_session_token() -> str:
    """The function's AWS session token, which Lambda's Parameters and Secrets extension asks for to prove the caller
    is this function. Read at each use, never kept in the settings: the runtime sets it (and may renew it, as after a
    SnapStart restore) and it must not end up wherever the settings are shown."""
    return os.environ.get("AWS_SESSION_TOKEN", "")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The container's settings; tests and the local gateway call `get_settings.cache_clear()` after changing env, and a
    SnapStart restore forgets them (its environment is the restored one's)."""
    snapstart.forget_after_restore(get_settings.cache_clear)
    return Settings.from_env(os.environ)
