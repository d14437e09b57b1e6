"""The local gateway answers as API Gateway does when a function's response passes Lambda's 6 MB: Lambda fails the
invocation, API Gateway answers 502. The size is the invoke response as the python3.12 runtime writes it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from localdev.gateway import LAMBDA_RESPONSE_LIMIT_BYTES, LocalGateway, invoke_response_bytes
from localdev.template import ApiDefinition, FunctionSpec, Route

# A handler that answers GET /echo/{count}/{char} with a body of `count` times the character `char` (a code point).
HANDLER = """
def lambda_handler(event, context):
    count, char = int(event["pathParameters"]["count"]), chr(int(event["pathParameters"]["char"]))
    return {"statusCode": 200, "headers": {}, "body": char * count}
"""
EMPTY = invoke_response_bytes({"statusCode": 200, "headers": {}, "body": ""})


@pytest.fixture
def gateway(tmp_path: Path) -> LocalGateway:
    (tmp_path / "app.py").write_text(HANDLER)
    spec = FunctionSpec("Echo", tmp_path, "app.lambda_handler", timeout_seconds=3, memory_mb=128)
    route = Route("GET", "/echo/{count}/{char}", spec)
    return LocalGateway(ApiDefinition([], spec, 0, {"Echo": spec}, public_routes=[route]))


def answer(gateway: LocalGateway, count: int, char: str) -> tuple[int, bytes]:
    environ = {"REQUEST_METHOD": "GET", "REQUEST_URI": f"/echo/{count}/{ord(char)}", "wsgi.input": io.BytesIO()}
    status, _, body = gateway.handle(environ)
    return status, body


def test_the_size_is_the_invoke_response_as_the_python312_runtime_writes_it():
    # Quotes are escaped in the body string; non-ASCII is written as it is (UTF-8), not as \\u escapes.
    assert invoke_response_bytes({"body": '"'}) - invoke_response_bytes({"body": ""}) == 2
    assert invoke_response_bytes({"body": "é"}) - invoke_response_bytes({"body": ""}) == 2
    assert invoke_response_bytes({"body": "😀"}) - invoke_response_bytes({"body": ""}) == 4
    assert len('{"statusCode": 200, "headers": {}, "body": ""}') == EMPTY


@pytest.mark.parametrize(("char", "bytes_each"), [("x", 1), ('"', 2), ("é", 2)])
def test_a_response_over_6_mib_is_a_502_and_one_at_the_limit_is_answered(gateway, char, bytes_each):
    fits = (LAMBDA_RESPONSE_LIMIT_BYTES - EMPTY) // bytes_each
    status, body = answer(gateway, fits, char)
    assert status == 200 and body == (char * fits).encode()
    status, body = answer(gateway, fits + 1, char)
    assert status == 502
    assert json.loads(body) == {"message": "Internal server error", "code": "bad_gateway"}
