"""The local app under pressure, as a real process: idle and stalled connections, the first requests after a restart in
development-issuer mode, many first calls to the stand-in User Profile service, log fields of requests answered at the
same time, and the docs page at /docs/."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from localdev.databases import scratch_database
from localdev.dev_issuer import SigningKey
from localdev.stubs import StubServer, UserProfileStub
from progress_tracking_app import DEV_KEY_FILE
from tests.helpers import FUNCTIONS, App

# Far below waitress's default (an idle connection closed after 120 s, looked for every 30 s), far above the app's.
SILENT_CONNECTION_CLOSED_WITHIN = 30


@pytest.fixture(scope="module")
def app(tmp_path_factory, clean_env, database_url, user_profile) -> Iterator[App]:
    env = {**clean_env, "DATABASE_URL": database_url, "USER_SVC_BASE_URL": user_profile.base_url}
    started = App(tmp_path_factory.mktemp("pressure"), env)
    try:
        yield started
    finally:
        started.stop()


def still_open(connection: socket.socket) -> bool:
    """Whether the server has kept the connection open: what it sent is read and left aside, until nothing more is
    there to read (open) or the connection's end is (closed)."""
    connection.setblocking(False)
    try:
        while connection.recv(65536):
            pass
    except BlockingIOError:
        return True
    except ConnectionError:
        return False
    return False


def closed_by_the_server_within(connections: list[socket.socket], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(still_open(connection) for connection in connections):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


# --- connections ----------------------------------------------------------------------------------------------------


def test_idle_connections_past_the_old_limit_keep_no_one_waiting(app):
    # Given 150 connections that send nothing (waitress's default limit is 100 connections)
    idle = [socket.create_connection(("127.0.0.1", app.port), timeout=5) for _ in range(150)]
    try:
        # Then a request is answered while every one of them is still open
        answer = requests.get(f"{app.url}/openapi.json", timeout=SILENT_CONNECTION_CLOSED_WITHIN)
        assert answer.status_code == 200
        assert sum(still_open(connection) for connection in idle) == 150
    finally:
        for connection in idle:
            connection.close()


def test_idle_and_stalled_connections_are_closed_by_the_app(app):
    idle = [socket.create_connection(("127.0.0.1", app.port), timeout=5) for _ in range(3)]
    stalled = socket.create_connection(("127.0.0.1", app.port), timeout=5)
    stalled.sendall(f"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1:{app.port}\r\n".encode())  # and never ends it
    kept_alive = socket.create_connection(("127.0.0.1", app.port), timeout=5)
    kept_alive.sendall(f"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1:{app.port}\r\n\r\n".encode())
    assert kept_alive.recv(12) == b"HTTP/1.1 200"  # answered, then left idle on a keep-alive connection
    connections = [*idle, stalled, kept_alive]
    try:
        assert closed_by_the_server_within(connections, SILENT_CONNECTION_CLOSED_WITHIN)
    finally:
        for connection in connections:
            connection.close()


# --- the first requests after a restart -----------------------------------------------------------------------------


@pytest.mark.parametrize(("threads", "first_requests"), [(1, 1), (8, 16)])
def test_the_first_requests_after_a_restart_verify_their_tokens_at_once(
    tmp_path, clean_env, database_url, user_profile, threads, first_requests
):
    # Given tokens minted with the development issuer's key before the app (re)starts
    key = SigningKey.load_or_create(tmp_path / DEV_KEY_FILE)
    minted = [key.access_token(user_id=f"restart-{n}") for n in range(first_requests)]
    env = {**clean_env, "DATABASE_URL": database_url, "USER_SVC_BASE_URL": user_profile.base_url}
    app = App(tmp_path, env, "--threads", str(threads))
    try:
        start = threading.Barrier(first_requests)

        def first_request(n: int) -> int:
            start.wait()
            headers = {"Authorization": f"Bearer {minted[n]}"}
            return requests.get(f"{app.url}/api/progress/restart-{n}", headers=headers, timeout=30).status_code

        # When they arrive together, as many as (or more than) the app has threads
        with ThreadPoolExecutor(first_requests) as pool:
            statuses = list(pool.map(first_request, range(first_requests)))
        # Then each is answered as its token deserves, not 401 while the app waits for its own JWKS
        assert statuses == [200] * first_requests
        # and the key set is still served to others, with the key that signed them
        served = requests.get(f"{app.url}/.well-known/jwks.json", timeout=10).json()
        assert [served_key["kid"] for served_key in served["keys"]] == [key.kid]
    finally:
        app.stop()


# --- the stand-in User Profile service ------------------------------------------------------------------------------


def connections_taken(port: int, attempts: int) -> list[socket.socket]:
    taken = []
    for _ in range(attempts):
        attempt = socket.socket()
        attempt.settimeout(1.5)  # a connection the listen queue has no room for is dropped: its SYN goes unanswered
        try:
            attempt.connect(("127.0.0.1", port))
        except OSError:
            attempt.close()
        else:
            taken.append(attempt)
    return taken


def test_the_stand_in_takes_many_simultaneous_first_calls():
    # Given the stand-in listening while it accepts nothing yet (as busy as it gets: every caller waits in its queue)
    stand_in = UserProfileStub(known=None)
    try:
        waiting = connections_taken(urlsplit(stand_in.url).port or 0, 30)
    finally:
        stand_in.start()
    try:
        # Then 30 first calls all get a connection (with a listen queue of 5, six did)
        assert len(waiting) == 30
        # and each is answered once it accepts them
        for connection in waiting:
            connection.settimeout(10)
            connection.sendall(b"GET /api/users/validate/someone HTTP/1.0\r\n\r\n")
            assert connection.makefile("rb").readline().startswith(b"HTTP/1.0 200")
    finally:
        for connection in waiting:
            connection.close()
        stand_in.stop()


# --- log fields of concurrent requests ------------------------------------------------------------------------------


class HeldUserProfile(StubServer):
    """A User Profile service that knows every user, and holds its answer about `held` until released."""

    def __init__(self, held: str) -> None:
        self.held = held
        self.asked = threading.Event()
        self.release = threading.Event()
        super().__init__(self._answer)

    def _answer(self, path: str) -> tuple[int, dict]:
        if path.endswith(f"/{self.held}"):
            self.asked.set()
            assert self.release.wait(30)
        return 200, {"valid": True}


def log_lines(output: str) -> list[dict]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{") and '"level"' in line:
            lines.append(json.loads(line))
    return lines


def test_each_log_line_carries_the_fields_of_its_own_request(tmp_path, clean_env, postgres_server_url):
    # Given a request held inside its handler (the User Profile service answers only when released), on a database
    # of its own (another app's relay would publish its events into that app's sink: they share the checkpoint)
    with HeldUserProfile(held="held-writer") as profiles, scratch_database(postgres_server_url) as database_url:
        env = {**clean_env, "DATABASE_URL": database_url}
        app = App(tmp_path, env, "--user_svc_base_url", f"{profiles.url}/api/users")
        try:
            token = {"Authorization": f"Bearer {app.mint()}"}  # all four scopes: admin acts for anyone
            body = {"user_id": "held-writer", "date": "2026-11-01", "weight_kg": 80.5}
            with ThreadPoolExecutor(1) as pool:
                held = pool.submit(requests.post, f"{app.url}/api/progress/log", json=body, headers=token, timeout=30)
                assert profiles.asked.wait(30)
                # When other functions answer requests meanwhile
                other = f"someone-else-{uuid.uuid4().hex[:8]}"
                goals = {"weekly_workouts": 3}
                others = [
                    requests.get(f"{app.url}/api/progress/{other}", headers=token, timeout=10),
                    requests.put(f"{app.url}/api/progress/goals/{other}", json=goals, headers=token, timeout=10),
                ]
                assert [answer.status_code for answer in others] == [200, 200]
                profiles.release.set()
                created = held.result()
            assert created.status_code == 201, created.text
            # and the relay publishes the held request's event in the background
            deadline = time.monotonic() + 60
            while not any(
                event["detail"].get("user_id") == "held-writer"
                for event in requests.get(f"{app.url}/local/events", headers=token, timeout=10).json()["events"]
            ):
                assert time.monotonic() < deadline
                time.sleep(0.2)
        finally:
            output = app.stop()
    lines = log_lines(output)
    request_ids = {
        created.headers["X-Request-Id"]: "LogProgressFunction",
        others[0].headers["X-Request-Id"]: "GetProgressFunction",
        others[1].headers["X-Request-Id"]: "SetGoalsFunction",
    }
    # Then the held request's line after the others names its own function, request and log
    [logged] = [line for line in lines if line["message"] == "Progress logged"]
    assert (logged["function_name"], logged["correlation_id"], logged["log_id"]) == (
        "LogProgressFunction",
        created.headers["X-Request-Id"],
        created.json()["id"],
    )
    # and every line with a request's id names that request's function
    for line in lines:
        if line.get("correlation_id") in request_ids:
            assert line["function_name"] == request_ids[line["correlation_id"]], line
    # and the relay's lines (on a thread of their own) carry no request's fields at all
    relayed = [line for line in lines if line["message"] == "Domain events relayed"]
    assert relayed
    for line in relayed:
        assert not {"correlation_id", "function_name", "log_id"} & set(line), line


# --- /docs/ ---------------------------------------------------------------------------------------------------------

ASSET_REFERENCE = re.compile(r'(?:href|src)="([^"]+)"|url: "([^"]+)"')


def references(page: str) -> list[str]:
    return [href or url for href, url in ASSET_REFERENCE.findall(page)]


@pytest.mark.parametrize("path", ["/docs", "/docs/"])
def test_the_docs_page_and_every_asset_it_references_are_served(app, path):
    page = requests.get(f"{app.url}{path}", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    found = references(page.text)
    assert len(found) == 3, found  # the stylesheet, the script and the OpenAPI document
    for reference in found:
        asset = requests.get(urljoin(page.url, reference), timeout=10)
        assert asset.status_code == 200, (reference, urljoin(page.url, reference))
        assert not asset.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/docs", "/docs/"])
def test_the_docs_function_references_its_assets_under_the_stage_wherever_the_page_is(path):
    # As API Gateway invokes it: the request's path (a trailing slash kept) and the stage in front of it.
    page_url = f"https://abc123.execute-api.eu-west-1.amazonaws.com/v1{path}"
    event = {"path": path, "requestContext": {"path": f"/v1{path}"}, "pathParameters": None}
    page = FUNCTIONS["api_docs"].load()(event, None)
    assert page["statusCode"] == 200
    assert sorted(urlsplit(urljoin(page_url, reference)).path for reference in references(page["body"])) == [
        "/v1/docs/openapi.json",
        "/v1/docs/swagger-ui-bundle.js",
        "/v1/docs/swagger-ui.css",
    ]
