"""The service's functions run in the bench's own process, as a new container would see them: the token's issuer and
audience the bench signs for, and the environment pointed at this run's database and stand-ins."""

from __future__ import annotations

import os

from localdev.stubs import JwksStub, UserProfileStub

ISSUER, AUDIENCE = "https://bench.invalid/", "https://bench.invalid/api"


def configure_in_process(database_url: str, jwks: JwksStub, users: UserProfileStub) -> None:
    """The environment of the functions run in this process: this run's database, JWKS and User Profile stand-in."""
    os.environ.update(
        DATABASE_URL=database_url,
        AUTH0_ISSUER=ISSUER,
        AUTH0_AUDIENCE=AUDIENCE,
        AUTH0_JWKS_URL=jwks.jwks_url,
        USER_SVC_BASE_URL=users.base_url,
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    from progress_tracking import config, db, tokens, user_service

    # A new container's view: settings, connections, the token verifier and the User Profile client made afresh.
    for cached in (config.get_settings, db.get_database, tokens.cached_verifier, user_service.get_user_service):
        cached.cache_clear()
