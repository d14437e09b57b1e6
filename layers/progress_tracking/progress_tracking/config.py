"""Settings: read from the environment once per container and passed down from there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_USER_SVC_BASE_URL = "http://127.0.0.1:5001/api/users"
DEFAULT_USER_SVC_CACHE_SECONDS = 60.0
# Where Lambda's Parameters and Secrets extension listens (its own default, and PARAMETERS_SECRETS_EXTENSION_HTTP_PORT).
DEFAULT_SECRETS_EXTENSION_PORT = 2773


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    database_url: str | None = None
    database_secret_arn: str | None = None
    secrets_extension_port: Annotated[int, Field(ge=1, le=65535)] = DEFAULT_SECRETS_EXTENSION_PORT
    user_svc_base_url: str = DEFAULT_USER_SVC_BASE_URL
    # How long a container trusts the User Profile service's "this user exists" (0 = ask every time).
    user_svc_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = DEFAULT_USER_SVC_CACHE_SECONDS
    # Auth0: the issuer and JWKS URL default from the tenant domain; either may be overridden.
    auth0_issuer: str | None = None
    auth0_jwks_url: str | None = None
    auth0_audiences: tuple[str, ...] = ()
    user_id_claim: Annotated[str, Field(min_length=1)] = "sub"
    cors_allow_origin: str | None = None
    # The relay's EventBridge bus, and how long one run keeps polling the log after catching up (0 = return at once).
    event_bus_name: Annotated[str, Field(min_length=1)] = "default"
    outbox_follow_seconds: Annotated[float, Field(ge=0, le=840)] = 0
    # The X-Ray SDK (Powertools' Tracer) in the functions; Lambda's active tracing needs none (observability.py).
    sdk_tracing: bool = False

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
            secrets_extension_port=value("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") or DEFAULT_SECRETS_EXTENSION_PORT,
            user_svc_base_url=(value("USER_SVC_BASE_URL") or DEFAULT_USER_SVC_BASE_URL).rstrip("/"),
            user_svc_cache_seconds=value("USER_SVC_CACHE_SECONDS") or DEFAULT_USER_SVC_CACHE_SECONDS,
            auth0_issuer=issuer,
            auth0_jwks_url=jwks_url,
            auth0_audiences=audiences,
            user_id_claim=value("USER_ID_CLAIM") or "sub",
            cors_allow_origin=value("CORS_ALLOW_ORIGIN"),
            event_bus_name=value("EVENT_BUS_NAME") or "default",
            outbox_follow_seconds=value("OUTBOX_FOLLOW_SECONDS") or 0,
            sdk_tracing=(value("SDK_TRACING") or "false").lower() == "true",
        )


def aws_session_token() -> str:
    """The function's AWS session token, which Lambda's Parameters and Secrets extension asks for to prove the caller
    is this function. Read at each use, never kept in the settings: the runtime sets it (and may renew it, as after a
    SnapStart restore) and it must not end up wherever the settings are shown."""
    return os.environ.get("AWS_SESSION_TOKEN", "")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The container's settings; tests and the local gateway call `get_settings.cache_clear()` after changing env."""
    return Settings.from_env(os.environ)
