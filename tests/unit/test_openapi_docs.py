"""The documented description: servers, tags, a description per operation, an example per request and response body,
and the copy the docs function serves in AWS (functions/api_docs/openapi.json) is the current one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from localdev.openapi import build_openapi
from localdev.openapi_docs import DESCRIPTIONS, TAGS, enrich
from tests.helpers import API

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict:
    return enrich(build_openapi(API))


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_document_has_servers_tags_and_stays_valid(document):
    validate(document)
    assert document["servers"][0]["url"] == "http://127.0.0.1:5000"
    assert "execute-api" in document["servers"][1]["url"]
    used = {operation["tags"][0] for _, _, operation in operations(document)}
    assert used == {tag["name"] for tag in TAGS}


def test_every_operation_has_a_description_and_every_body_an_example(document):
    assert set(DESCRIPTIONS) == {operation["operationId"] for _, _, operation in operations(document)}
    missing = []
    for path, method, operation in operations(document):
        assert operation["description"].startswith(DESCRIPTIONS[operation["operationId"]])
        assert "scope" in operation["description"]  # the generator's sentence is kept
        bodies = {"request": operation.get("requestBody", {}).get("content", {}).get("application/json")}
        bodies |= {
            status: response.get("content", {}).get("application/json")
            for status, response in operation["responses"].items()
        }
        missing += [
            f"{method.upper()} {path} {name}" for name, body in bodies.items() if body and "example" not in body
        ]
    assert missing == []


def test_the_examples_match_their_schemas(document):
    from jsonschema import Draft202012Validator

    components = {"components": document["components"]}
    for _, _, operation in operations(document):
        bodies = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
        bodies += [response.get("content", {}).get("application/json") for response in operation["responses"].values()]
        for body in filter(None, bodies):
            schema = {**body["schema"], **components}
            errors = list(Draft202012Validator(schema).iter_errors(body["example"]))
            assert errors == [], (operation["operationId"], errors[0].message)


def test_the_docs_functions_copy_is_current():
    printed = subprocess.run(
        [sys.executable, "progress_tracking_app.py", "openapi"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    committed = json.loads((ROOT / "functions" / "api_docs" / "openapi.json").read_text())
    assert committed == json.loads(printed), "functions/api_docs/openapi.json is stale: run `make openapi`"
