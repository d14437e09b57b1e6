"""Shared fixtures: a real Postgres database per run, a signing key with its JWKS served over HTTP, a User Profile
stand-in over HTTP, and the local gateway serving the template's handlers over HTTP."""

from __future__ import annotations

import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
import requests
from hypothesis import settings

from localdev.databases import postgres_server, scratch_database
from localdev.dev_issuer import SigningKey
from localdev.pgbouncer import pgbouncer, pooled_url
from localdev.stubs import JwksStub, UserProfileStub
from localdev.template import fixed_environment
from tests.helpers import ROOT, TEST_AUDIENCE, TEST_ISSUER, VIA_POOLER, reset_layer_singletons

# Every function's environment as the template sets it (POWERTOOLS_* …), before any layer module is imported.
for _name, _value in fixed_environment(ROOT / "template.yaml").items():
    os.environ.setdefault(_name, _value)

# CI replays the same generated examples every run, so a submission cannot fail on a new random draw; local runs
# keep exploring (and FUZZ_EXAMPLES raises the fuzzing budget for a deeper local run).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_server(tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture(scope="session")
def pooler(postgres_server_url: str) -> Iterator[str]:
    """PgBouncer in transaction mode in front of the test Postgres: its "127.0.0.1:port"."""
    with pgbouncer(postgres_server_url) as address:
        yield address


@pytest.fixture(scope="session")
def direct_database_url(postgres_server_url: str) -> Iterator[str]:
    """A database of its own for this run, migrated, and dropped afterwards; reached directly."""
    from progress_tracking.db import Database
    from progress_tracking.migrations import migrate

    with scratch_database(postgres_server_url) as url:
        migrator = Database(url)
        migrate(migrator)
        migrator.close()
        yield url


@pytest.fixture(scope="session")
def database_url(direct_database_url: str, request: pytest.FixtureRequest) -> str:
    """The run's database as the service reaches it: directly, or through the pooler in the pooler pass."""
    if VIA_POOLER:
        return pooled_url(direct_database_url, request.getfixturevalue("pooler"))
    return direct_database_url


@pytest.fixture(scope="session")
def database(database_url: str):
    from progress_tracking.db import Database

    db = Database(database_url)
    yield db
    db.close()


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate(kid="test-key-1")


@pytest.fixture(scope="session")
def jwks_server(signing_key: SigningKey) -> Iterator[JwksStub]:
    with JwksStub(signing_key.jwks()) as server:
        yield server


@pytest.fixture(scope="session")
def user_profile() -> Iterator[UserProfileStub]:
    with UserProfileStub(known=set()) as server:
        yield server


@pytest.fixture(autouse=True)
def _user_profile_behaves(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "user_profile" in request.fixturenames:
        request.getfixturevalue("user_profile").mode = "ok"


@pytest.fixture
def new_user(user_profile: UserProfileStub):
    """Makes user ids unique to the test and known to the User Profile stand-in."""

    def make(prefix: str = "user") -> str:
        user_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
        user_profile.known.add(user_id)
        return user_id

    return make


@pytest.fixture(scope="session")
def service_env(database_url: str, jwks_server: JwksStub, user_profile: UserProfileStub) -> Iterator[dict[str, str]]:
    """The environment every function reads, pointing at this run's database and HTTP peers."""
    environment = {
        "DATABASE_URL": database_url,
        "AUTH0_ISSUER": TEST_ISSUER,
        "AUTH0_JWKS_URL": jwks_server.jwks_url,
        "AUTH0_AUDIENCE": TEST_AUDIENCE,
        "USER_SVC_BASE_URL": user_profile.base_url,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    reset_layer_singletons()
    yield environment
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_layer_singletons()


class Tokens:
    """Real RS256 access tokens signed by the test key, shaped like Auth0's."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    def user(self, user_id: str, scope: str = "read:progress write:progress delete:progress", **kwargs) -> str:
        return self.key.access_token(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, user_id=user_id, scope=scope, **kwargs)

    def client(self, scope: str = "read:progress write:progress delete:progress", **kwargs) -> str:
        return self.key.access_token(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, client=True, scope=scope, **kwargs)


@pytest.fixture(scope="session")
def tokens(signing_key: SigningKey) -> Tokens:
    return Tokens(signing_key)


@pytest.fixture(scope="session")
def answered_statuses() -> dict[tuple[str, str], set[int]]:
    """Every status the gateway answered each route of the template with during this run, by (method, path)."""
    return defaultdict(set)


@pytest.fixture(scope="session")
def gateway_url(service_env: dict[str, str], answered_statuses: dict[tuple[str, str], set[int]]) -> Iterator[str]:
    """The local gateway over real HTTP, serving template.yaml's routes with the real authorizer and handlers."""
    from waitress import create_server

    from localdev.gateway import LocalGateway
    from localdev.template import load_api

    def record(route, status: int) -> None:
        answered_statuses[(route.method, route.path)].add(status)  # set.add: atomic enough across waitress's threads

    gateway = LocalGateway(load_api(ROOT / "template.yaml"), on_answer=record)
    server = create_server(gateway, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


class Api:
    """requests against the gateway, with a bearer token when one is given."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        return self.session.request(method, f"{self.base_url}{path}", headers=headers, timeout=15, **kwargs)


@pytest.fixture(scope="session")
def api(gateway_url: str) -> Api:
    return Api(gateway_url)


CONFIG_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_SECRET_ARN",
    "USER_SVC_BASE_URL",
    "AUTH0_DOMAIN",
    "AUTH0_AUDIENCE",
    "AUTH0_ISSUER",
    "AUTH0_JWKS_URL",
    "USER_ID_CLAIM",
)


@pytest.fixture(scope="session")
def clean_env() -> dict[str, str]:
    """This process's environment without the service's configuration, for starting the app as a newcomer would."""
    return {name: value for name, value in os.environ.items() if name not in CONFIG_VARIABLES}
