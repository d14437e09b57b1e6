"""One id joins the API's access log to the functions' logs: the access line the template's format writes for a request
carries the request id that every log line of the function answering it carries as `correlation_id` (and the client
gets as X-Request-Id)."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from localdev.lambda_context import LocalLambdaContext
from progress_tracking.observability import logger
from tests.helpers import FUNCTIONS
from tests.helpers.events import load_event
from tests.helpers.template import access_log_format, created

_VARIABLE = re.compile(r"\$context\.([A-Za-z]+(?:\.[A-Za-z]+)*)")


def access_line(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """The line API Gateway writes with the template's format: each $context variable from the request's context
    (as the proxy event carries it), the status from the answer, and "-" for what it does not say (as API Gateway
    writes an empty value)."""
    answered = {"status": str(response["statusCode"]), "responseLength": str(len(response["body"]))}

    def value(found: re.Match[str]) -> str:
        node: Any = event["requestContext"]
        for part in found.group(1).split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return str(node) if node is not None else answered.get(found.group(1), "-")

    return json.loads(_VARIABLE.sub(value, access_log_format(created())))


@pytest.fixture
def function_log() -> Iterator[io.StringIO]:
    """What the functions' logger writes (its stream was bound when the layer was first imported)."""
    written = io.StringIO()
    earlier = logger.registered_handler.setStream(written)
    yield written
    logger.registered_handler.setStream(earlier)


def function_lines(log: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    log.seek(0)
    log.truncate()
    return lines


def test_the_access_line_and_the_functions_lines_of_a_request_share_its_id(service_env, new_user, function_log):
    spec = FUNCTIONS["log_progress"]
    handler = spec.load()
    user_id = new_user("access")
    answered = []
    for _ in range(2):
        event = load_event("log_progress")
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        event["requestContext"]["authorizer"].update(principalId=user_id, principal=user_id, user_id=user_id)
        event["body"] = json.dumps({"user_id": user_id, "date": "2026-03-02", "weight_kg": 79.5})
        response = handler(event, LocalLambdaContext(spec.logical_id, spec.memory_mb, spec.timeout_seconds))
        answered.append((event, response, function_lines(function_log)))

    for event, response, lines in answered:
        access = access_line(event, response)
        assert (access["route"], access["status"], access["sub"]) == ("POST /api/progress/log", "201", user_id)
        assert access["requestId"] == response["headers"]["X-Request-Id"] == event["requestContext"]["requestId"]
        assert [line["message"] for line in lines] == ["Progress logged"]
        assert {line["correlation_id"] for line in lines} == {access["requestId"]}
    # Each request's lines carry its own id, not the other's (the two ids differ).
    assert answered[0][0]["requestContext"]["requestId"] != answered[1][0]["requestContext"]["requestId"]
