"""The local app's doors, through the app as a real process in both of its modes (its own development issuer, and
Auth0 mode against a JWKS server on loopback): it answers only Host headers naming the address it listens on (DNS
rebinding), and its development route /local/events follows the API's token rules (admin:progress)."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.helpers import TEST_AUDIENCE, TEST_ISSUER, App, assert_error

ALL_BUT_ADMIN = "read:progress write:progress delete:progress"
EVERY_SCOPE = f"{ALL_BUT_ADMIN} admin:progress"


@dataclass
class Running:
    app: App
    mint: Callable[[str], str]  # a token for dev-user-1 with these scopes, from the issuer this mode trusts
    mode: str


@pytest.fixture(scope="module", params=["development issuer", "Auth0"])
def running(request, tmp_path_factory, clean_env, database_url, user_profile, tokens, jwks_server) -> Iterator[Running]:
    env = {**clean_env, "DATABASE_URL": database_url}
    if request.param == "Auth0":
        # The tenant is a JWKS server on loopback serving the suite's signing key.
        env.update(AUTH0_ISSUER=TEST_ISSUER, AUTH0_AUDIENCE=TEST_AUDIENCE, AUTH0_JWKS_URL=jwks_server.jwks_url)
    app = App(tmp_path_factory.mktemp("doors"), env, "--user_svc_base_url", user_profile.base_url)
    if request.param == "Auth0":
        assert "Auth: Auth0 tenant from the environment" in app.banner
        mint = lambda scope: tokens.user("dev-user-1", scope=scope)  # noqa: E731
    else:
        assert "Auth: development issuer" in app.banner
        mint = lambda scope: app.mint("--scope", scope)  # noqa: E731
    try:
        yield Running(app, mint, request.param)
    finally:
        app.stop()


def get(app: App, path: str, host: str | None = None, token: str | None = None) -> requests.Response:
    headers = {"Host": host} if host is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(f"{app.url}{path}", headers=headers, timeout=10)


# --- /local/events --------------------------------------------------------------------------------------------------


def test_local_events_needs_a_valid_token_with_the_admin_scope(running):
    app = running.app
    # No token, or a token that does not verify: the gateway's 401
    for token in (None, "not-a-token", running.mint(EVERY_SCOPE)[:-4] + "AAAA"):
        refused = assert_error(get(app, "/local/events", token=token), 401, "unauthorized")
        assert refused == {"message": "Unauthorized", "code": "unauthorized"}
    # A valid token with every scope but admin:progress: 403, as a handler answers a missing scope
    assert_error(get(app, "/local/events", token=running.mint(ALL_BUT_ADMIN)), 403, "insufficient_scope")
    # The control: with admin:progress the events are listed
    listed = get(app, "/local/events", token=running.mint(EVERY_SCOPE))
    assert listed.status_code == 200 and isinstance(listed.json()["events"], list)


def test_every_refusal_of_local_events_carries_a_request_id(running):
    for token in (None, running.mint(ALL_BUT_ADMIN)):
        assert get(running.app, "/local/events", token=token).headers["X-Request-Id"]


# --- Host -----------------------------------------------------------------------------------------------------------


def paths_of(running: Running) -> dict[str, str | None]:
    """Each kind of answer the app gives, with the token it needs."""
    token = running.mint(EVERY_SCOPE)
    paths: dict[str, str | None] = {
        "/": None,
        "/docs": None,
        "/openapi.json": None,
        "/local/events": token,
        "/api/progress/dev-user-1": token,
        "/no/such/route": None,
    }
    if running.mode == "development issuer":
        paths["/.well-known/jwks.json"] = None
    return paths


def test_hosts_naming_the_loopback_address_it_listens_on_are_answered(running):
    app = running.app
    for host in (f"127.0.0.1:{app.port}", f"localhost:{app.port}", f"LocalHost:{app.port}", "127.0.0.1", "localhost"):
        for path, token in paths_of(running).items():
            answer = get(app, path, host, token)
            assert answer.status_code != 421, (host, path, answer.text)


HOSTS_OF_OTHERS = (
    "evil.example:{port}",  # a page whose name was rebound to 127.0.0.1
    "evil.example",
    "127.0.0.1.evil.example:{port}",
    "localhost.evil.example:{port}",
    "localhost.:{port}",
    "127.0.0.2:{port}",  # a loopback address it does not listen on
    "[::1]:{port}",  # nor on IPv6
    "0.0.0.0:{port}",
    "127.0.0.1:{port}@evil.example",
    "127.0.0.1:port",
    "",
)


def test_a_host_naming_anything_else_is_421_before_anything_is_read_or_run(running):
    app = running.app
    for template in HOSTS_OF_OTHERS:
        host = template.format(port=app.port)
        for path, token in paths_of(running).items():
            answer = get(app, path, host, token)
            body = assert_error(answer, 421, "misdirected_request")
            assert set(body) == {"message", "code"} and answer.headers["X-Request-Id"], (host, path)
            assert "eyJ" not in answer.text  # the home page's embedded token above all


def test_a_request_without_a_host_header_is_421(running):
    connection = http.client.HTTPConnection("127.0.0.1", running.app.port, timeout=10)
    try:
        connection.putrequest("GET", "/", skip_host=True)
        connection.endheaders()
        answer = connection.getresponse()
        assert answer.status == 421 and b"misdirected_request" in answer.read()
    finally:
        connection.close()


def test_the_home_page_token_reaches_only_a_page_served_by_the_app_itself(running):
    page = get(running.app, "/", f"localhost:{running.app.port}")
    assert page.status_code == 200
    # The control for the 421s above: here the page carries its token exactly in development-issuer mode.
    assert ("eyJ" in page.text) == (running.mode == "development issuer")


# --- other binds ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_env(clean_env, database_url, user_profile) -> dict[str, str]:
    return {**clean_env, "DATABASE_URL": database_url, "USER_SVC_BASE_URL": user_profile.base_url}


def host_statuses(app: App, hosts: list[str]) -> dict[str, int]:
    return {host: get(app, "/openapi.json", host.format(port=app.port)).status_code for host in hosts}


def test_bound_to_every_ipv4_address_it_answers_names_of_this_machine_only(tmp_path, dev_env):
    app = App(tmp_path, dev_env, host="0.0.0.0")
    try:
        statuses = host_statuses(
            app,
            [
                "127.0.0.1:{port}",
                "127.0.0.2:{port}",  # a loopback address other than 127.0.0.1: an address of this machine
                "localhost:{port}",
                "203.0.113.9:{port}",  # TEST-NET-3: not an address of this machine
                "[::1]:{port}",  # IPv6: not bound
                "0.0.0.0:{port}",
                "evil.example:{port}",
            ],
        )
    finally:
        app.stop()
    assert statuses == {
        "127.0.0.1:{port}": 200,
        "127.0.0.2:{port}": 200,
        "localhost:{port}": 200,
        "203.0.113.9:{port}": 421,
        "[::1]:{port}": 421,
        "0.0.0.0:{port}": 421,
        "evil.example:{port}": 421,
    }


def test_bound_to_ipv6_loopback_it_answers_its_names_and_not_ipv4s(tmp_path, dev_env):
    app = App(tmp_path, dev_env, host="::1")
    try:
        assert f"Progress Tracking Service on http://[::1]:{app.port}" in app.banner
        statuses = host_statuses(app, ["[::1]:{port}", "localhost:{port}", "127.0.0.1:{port}", "evil.example:{port}"])
    finally:
        app.stop()
    assert statuses == {
        "[::1]:{port}": 200,
        "localhost:{port}": 200,
        "127.0.0.1:{port}": 421,
        "evil.example:{port}": 421,
    }
