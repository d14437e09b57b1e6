"""The MigrateFunction custom resource: migrates on Create and Update, answers CloudFormation at its ResponseURL
(here a real HTTP server on loopback), and never leaves CloudFormation waiting when it fails."""

from __future__ import annotations

import json

import psycopg2
import pytest

from localdev.databases import scratch_database
from localdev.lambda_context import LocalLambdaContext
from localdev.stubs import StubServer
from progress_tracking import config, db
from progress_tracking.migrations import available_migrations
from tests.events import load_event
from tests.helpers import FUNCTIONS


@pytest.fixture
def cloudformation():
    with StubServer(lambda path: (404, {})) as server:
        yield server


@pytest.fixture
def fresh_database(postgres_server_url, service_env, monkeypatch):
    """An empty database the migrate function is pointed at, as on a first deploy."""
    with scratch_database(postgres_server_url, "progress_deploy") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        config.get_settings.cache_clear()
        db.get_database.cache_clear()
        yield url
        db.get_database().close()
        config.get_settings.cache_clear()
        db.get_database.cache_clear()


def invoke_migrate(event: dict) -> dict:
    handler = FUNCTIONS["migrate"].load()
    return handler(event, LocalLambdaContext("MigrateFunction", timeout_seconds=300))


def answered(cloudformation: StubServer) -> dict:
    assert len(cloudformation.uploads) == 1
    path, body = cloudformation.uploads[0]
    assert path == "/cloudformation-response"
    return json.loads(body)


def schema_versions(url: str) -> list[int]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [row[0] for row in cursor.fetchall()]


def test_create_migrates_an_empty_database_and_answers_success(fresh_database, cloudformation):
    event = load_event("migrate")
    event["ResponseURL"] = f"{cloudformation.url}/cloudformation-response"
    invoke_migrate(event)
    response = answered(cloudformation)
    latest = available_migrations()[-1][0]
    assert response["Status"] == "SUCCESS"
    assert (response["RequestId"], response["LogicalResourceId"]) == (event["RequestId"], "SchemaMigration")
    assert response["Data"] == {
        "Applied": ",".join(str(v) for v, _, _ in available_migrations()),
        "SchemaVersion": str(latest),
    }
    assert schema_versions(fresh_database)[-1] == latest


def test_an_update_on_a_current_schema_applies_nothing(fresh_database, cloudformation):
    event = load_event("migrate")
    event["ResponseURL"] = f"{cloudformation.url}/cloudformation-response"
    invoke_migrate(event)
    cloudformation.uploads.clear()
    update = {**event, "RequestType": "Update", "PhysicalResourceId": "schema"}
    invoke_migrate(update)
    response = answered(cloudformation)
    assert (response["Status"], response["Data"]["Applied"], response["PhysicalResourceId"]) == (
        "SUCCESS",
        "",
        "schema",
    )


def test_a_failure_is_reported_as_failed_instead_of_raised(service_env, cloudformation, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    config.get_settings.cache_clear()
    db.get_database.cache_clear()
    try:
        event = load_event("migrate")
        event["ResponseURL"] = f"{cloudformation.url}/cloudformation-response"
        invoke_migrate(event)
        response = answered(cloudformation)
        assert response["Status"] == "FAILED" and "DatabaseUnavailable" in response["Reason"]
    finally:
        config.get_settings.cache_clear()
        db.get_database.cache_clear()


def test_delete_does_nothing_but_answer(cloudformation, service_env):
    event = {**load_event("migrate"), "RequestType": "Delete", "PhysicalResourceId": "schema"}
    event["ResponseURL"] = f"{cloudformation.url}/cloudformation-response"
    invoke_migrate(event)
    assert answered(cloudformation)["Status"] == "SUCCESS"
