"""One JSON style for every body the local app answers, errors above all: the handlers' (compact, non-ASCII as is),
the gateway's own answers (401, 403, 404, 413, 421, 502) — which are also exactly what template.yaml's
GatewayResponses make API Gateway answer — the docs function's 404 and the app's development routes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localdev.gateway import MAX_PAYLOAD_BYTES, LocalGateway
from localdev.template import ApiDefinition, FunctionSpec, Route, read_template
from progress_tracking.response_size import body_text
from tests.helpers import ROOT, App

# A tiny API for what the app's own functions never do: an authorizer that denies ("Bearer deny"), a function that
# crashes.
FUNCTIONS = """
def authorize(event, context):
    token = event["authorizationToken"]
    if token not in ("Bearer allow", "Bearer deny"):
        raise Exception("Unauthorized")
    effect = "Allow" if token == "Bearer allow" else "Deny"
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": [event["methodArn"]]}
    return {"principalId": "p", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}, "context": {}}


def crash(event, context):
    raise RuntimeError("boom")
"""
GATEWAY_RESPONSES = read_template(ROOT / "template.yaml")["Resources"]["ProgressApi"]["Properties"]["GatewayResponses"]


def assert_one_style(body: bytes, code: str | None = None) -> Any:
    """The body is written as the handlers write theirs; an error is {"message", "code"} (+ details)."""
    payload = json.loads(body)
    assert body.decode() == body_text(payload), body[:300]
    if code is not None:
        assert payload["code"] == code and isinstance(payload["message"], str) and payload["message"]
        assert set(payload) <= {"message", "code", "details"}
    return payload


def as_api_gateway_answers(response_type: str, message: str) -> bytes:
    """The body template.yaml's GatewayResponses make API Gateway answer with for this type and message."""
    template = GATEWAY_RESPONSES[response_type]["ResponseTemplates"]["application/json"]
    return template.replace("$context.error.messageString", json.dumps(message)).encode()


# --- The gateway's own answers, in process: each also what API Gateway answers -------------------------------------


@pytest.fixture
def gateway(tmp_path: Path) -> LocalGateway:
    (tmp_path / "app.py").write_text(FUNCTIONS)
    authorizer = FunctionSpec("Authorizer", tmp_path, "app.authorize", timeout_seconds=3, memory_mb=128)
    crash = FunctionSpec("Crash", tmp_path, "app.crash", timeout_seconds=3, memory_mb=128)
    routes = [Route("GET", "/crash", crash), Route("POST", "/crash", crash)]
    return LocalGateway(ApiDefinition(routes, authorizer, 0, {"Authorizer": authorizer, "Crash": crash}))


def answer(gateway: LocalGateway, method: str, path: str, token: str | None = None, length: int = 0):
    environ = {"REQUEST_METHOD": method, "REQUEST_URI": path, "wsgi.input": io.BytesIO(), "CONTENT_LENGTH": str(length)}
    if token is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return gateway.handle(environ)


@pytest.mark.parametrize(
    ("method", "path", "token", "length", "status", "code", "response_type"),
    [
        ("GET", "/crash", None, 0, 401, "unauthorized", "UNAUTHORIZED"),
        ("GET", "/crash", "forged", 0, 401, "unauthorized", "UNAUTHORIZED"),
        ("GET", "/crash", "deny", 0, 403, "access_denied", "ACCESS_DENIED"),
        ("GET", "/nothing/here", "allow", 0, 404, "route_not_found", "MISSING_AUTHENTICATION_TOKEN"),
        ("POST", "/crash", "allow", MAX_PAYLOAD_BYTES + 1, 413, "request_too_long", "REQUEST_TOO_LARGE"),
        ("GET", "/crash", "allow", 0, 502, "bad_gateway", "DEFAULT_5XX"),
    ],
)
def test_the_gateways_own_answers_are_in_the_one_style_and_what_api_gateway_answers(
    gateway, method, path, token, length, status, code, response_type
):
    answered, headers, body = answer(gateway, method, path, token, length)
    assert answered == status and headers["Content-Type"] == "application/json" and headers["X-Request-Id"]
    payload = assert_one_style(body, code)
    assert body == as_api_gateway_answers(response_type, payload["message"])
    assert str(GATEWAY_RESPONSES[response_type].get("StatusCode", status)) == str(status)


def test_every_gateway_response_of_the_template_is_an_error_in_the_one_style():
    for response_type in GATEWAY_RESPONSES:
        body = as_api_gateway_answers(response_type, "Some message")
        assert_one_style(body, json.loads(body)["code"])


# --- The app as a real process: handlers, gateway, docs function, development routes --------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory, clean_env, database_url) -> Iterator[App]:
    started = App(tmp_path_factory.mktemp("error-bodies"), {**clean_env, "DATABASE_URL": database_url})
    try:
        yield started
    finally:
        started.stop()


def call(app: App, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, f"{app.url}{path}", headers=headers, timeout=30, **kwargs)


def test_every_kind_of_error_the_local_app_answers_is_in_the_one_style(app):
    token, reader = app.token_from_banner(), app.mint("--scope", "read:progress")
    refusals = [  # (status, code, response)
        (404, "log_not_found", call(app, "GET", "/api/progress/log/999999999/history", token)),  # a handler's
        (400, "malformed_json", call(app, "POST", "/api/progress/log", token, data=b"{")),
        (400, "validation_error", call(app, "POST", "/api/progress/log", token, json={"user_id": "u", "poids_é": 1})),
        (401, "unauthorized", call(app, "GET", "/api/progress/dev-user-1")),  # the gateway's
        (404, "route_not_found", call(app, "GET", "/api/nothing/here", token)),
        (421, "misdirected_request", call(app, "GET", "/api/progress/dev-user-1", token, headers={"Host": "a.test"})),
        (413, "request_too_long", call(app, "POST", "/api/progress/log", token, data=b" " * (MAX_PAYLOAD_BYTES + 1))),
        (404, "route_not_found", call(app, "GET", "/docs/nothing.js")),  # the docs function's
        (401, "unauthorized", call(app, "GET", "/local/events")),  # a development route's
        (403, "insufficient_scope", call(app, "GET", "/local/events", reader)),
    ]
    for status, code, response in refusals:
        assert response.status_code == status, (code, response.text)
        assert response.headers["Content-Type"] == "application/json"
        assert_one_style(response.content, code)
    assert "poids_é" in refusals[2][2].text  # the unknown field named in details, non-ASCII as is


def test_the_development_routes_answer_json_in_the_one_style_too(app):
    for path, token in (("/local/events", app.token_from_banner()), ("/.well-known/jwks.json", None)):
        response = call(app, "GET", path, token)
        assert response.status_code == 200, response.text
        assert_one_style(response.content)
    document = call(app, "GET", "/openapi.json")
    assert assert_one_style(document.content)["openapi"].startswith("3.1")
