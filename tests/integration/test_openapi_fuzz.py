"""The OpenAPI description is valid, served by the local gateway, and the API honours it under fuzzing: schemathesis
sends generated requests (valid tokens, all scopes) through the gateway; no 5xx, every status documented, every
response in its documented shape."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ALL_SCOPES = "read:progress write:progress delete:progress admin:progress"
# Per operation: bounded so the whole run stays well under two minutes.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
CASES: Counter[tuple[str, str]] = Counter()  # requests sent, by operation (method, path)


@pytest.fixture(scope="module")
def openapi_document(gateway_url):
    document = requests.get(f"{gateway_url}/openapi.json", timeout=10).json()
    validate(document)
    return document


def test_the_description_covers_every_route_of_the_template(openapi_document):
    from tests.helpers import API

    described = {(method.upper(), path) for path, item in openapi_document["paths"].items() for method in item}
    assert described == {(route.method, route.path) for route in API.routes}
    post = openapi_document["paths"]["/api/progress/log"]["post"]
    body_schema = openapi_document["components"]["schemas"]["LogCreate"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LogCreate"}
    assert body_schema["additionalProperties"] is False
    assert body_schema["properties"]["weight_kg"]["anyOf"][0] == {
        "minimum": 2.0,
        "maximum": 650.0,
        "type": "number",
    }
    assert body_schema["properties"]["weight_lb"]["anyOf"][0] == {"minimum": 4.41, "maximum": 1433.0, "type": "number"}
    # The reads take units (and the list a source), which the fuzzing below sends too.
    list_parameters = {p["name"]: p for p in openapi_document["paths"]["/api/progress/{user_id}"]["get"]["parameters"]}
    assert list_parameters["units"]["schema"]["enum"] == ["metric", "imperial"]
    assert list_parameters["source"]["schema"]["anyOf"][0]["pattern"] == "^[a-z0-9][a-z0-9-]{0,39}$"


@pytest.fixture(scope="module")
def api_schema(openapi_document, user_profile):
    user_profile.known = None  # generated user ids should reach the success paths too
    yield schemathesis.openapi.from_dict(openapi_document)
    user_profile.known = set()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_description_under_fuzzing(case, gateway_url, tokens):
    token = tokens.client(scope=ALL_SCOPES)
    case.call_and_validate(
        base_url=gateway_url,
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        timeout=15,
    )
    CASES[(case.method.upper(), case.path)] += 1


def test_the_fuzzer_sent_requests(openapi_document):
    operations = {(method.upper(), path) for path, item in openapi_document["paths"].items() for method in item}
    print(f"schemathesis sent {sum(CASES.values())} requests")
    # Each documented operation gets its FUZZ_EXAMPLES generated cases at least (schemathesis adds explicit examples,
    # coverage cases, and one call of each undocumented method, which must be refused).
    fuzzed = {operation: CASES[operation] for operation in operations}
    assert min(fuzzed.values()) >= FUZZ_EXAMPLES, fuzzed
    assert sum(CASES.values()) >= len(operations) * FUZZ_EXAMPLES


def test_every_status_the_api_answered_is_documented(openapi_document, answered_statuses):
    """Run after the API tests and the fuzzing (same session): each status seen for an operation is in its doc."""
    documented = {
        (method.upper(), path): {int(status) for status in spec["responses"]}
        for path, item in openapi_document["paths"].items()
        for method, spec in item.items()
    }
    assert answered_statuses, "no requests recorded"
    undocumented = {
        operation: sorted(statuses - documented[operation])
        for operation, statuses in answered_statuses.items()
        if statuses - documented[operation]
    }
    assert undocumented == {}
