"""The MigrateFunction custom resource: migrates on Create and Update, answers CloudFormation at its ResponseURL
(here a real HTTP server on loopback), and never leaves CloudFormation waiting or a stack wedged: a failed migration
answers FAILED, CloudFormation's rollback that follows answers SUCCESS without migrating, a migration out of time
answers FAILED before Lambda's timeout, and a Delete keeps the data."""

from __future__ import annotations

import json
import shutil
import threading

import psycopg2
import pytest

from localdev.databases import scratch_database
from localdev.lambda_context import LocalLambdaContext
from localdev.stubs import StubServer
from progress_tracking import config, db, migrations
from progress_tracking.migrations import MIGRATION_LOCK_KEY, available_migrations
from tests.helpers import FUNCTIONS
from tests.helpers.events import load_event


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


# --- CloudFormation's failure and rollback paths ---------------------------------------------------------------------

OLD_LAYER = "arn:aws:lambda:eu-west-1:123456789012:layer:ProgressTrackingLayer:7"
NEW_LAYER = "arn:aws:lambda:eu-west-1:123456789012:layer:ProgressTrackingLayer:8"


def stack_event(cloudformation: StubServer, request_type: str, layer: str = OLD_LAYER, **fields) -> dict:
    """A CloudFormation request for SchemaMigration whose properties name `layer`."""
    event = load_event("migrate")
    event["ResponseURL"] = f"{cloudformation.url}/cloudformation-response"
    event["RequestType"] = request_type
    event["ResourceProperties"]["LayerVersion"] = layer
    return {**event, **fields}


def update(cloudformation: StubServer, physical_id: str, old: str, new: str) -> dict:
    """An Update from the properties naming layer `old` to those naming `new` (a rollback is an Update back)."""
    old_properties = {**load_event("migrate")["ResourceProperties"], "LayerVersion": old}
    return stack_event(
        cloudformation, "Update", new, PhysicalResourceId=physical_id, OldResourceProperties=old_properties
    )


def answer_to(cloudformation: StubServer, event: dict, **context) -> dict:
    cloudformation.uploads.clear()
    handler = FUNCTIONS["migrate"].load()
    handler(event, LocalLambdaContext("MigrateFunction", **{"timeout_seconds": 300, **context}))
    return answered(cloudformation)


@pytest.fixture
def new_code(tmp_path, monkeypatch):
    """The layer of a new deploy: today's migrations and the ones a test adds, by file name and SQL."""

    def with_migrations(**files: str) -> None:
        folder = tmp_path / "migrations"
        shutil.copytree(migrations.MIGRATIONS_DIR, folder)
        for name, sql in files.items():
            (folder / f"{name}.sql").write_text(sql)
        monkeypatch.setattr(migrations, "MIGRATIONS_DIR", folder)

    return with_migrations


def table_exists(url: str, table: str) -> bool:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
        return cursor.fetchone()[0]


def test_a_failed_migration_is_failed_and_the_rollback_that_follows_succeeds_without_migrating(
    fresh_database, cloudformation, new_code
):
    # Given: the stack created on layer 7 (the schema migrated), then a deploy of layer 8 whose migration fails.
    created = answer_to(cloudformation, stack_event(cloudformation, "Create"))
    physical_id = created["PhysicalResourceId"]
    before = schema_versions(fresh_database)
    new_code(**{"9001_broken": "CREATE TABLE deploy_probe (id integer); SELECT no_such_function();"})
    failed = answer_to(cloudformation, update(cloudformation, physical_id, OLD_LAYER, NEW_LAYER))
    assert failed["Status"] == "FAILED" and failed["PhysicalResourceId"] == physical_id
    assert schema_versions(fresh_database) == before and not table_exists(fresh_database, "deploy_probe")

    # When: CloudFormation rolls back, updating the resource back to layer 7's properties while layer 8's code (its
    # broken migration included) is still the function's.
    rolled_back = answer_to(cloudformation, update(cloudformation, physical_id, NEW_LAYER, OLD_LAYER))

    # Then: SUCCESS (the stack returns to UPDATE_ROLLBACK_COMPLETE), nothing run, the resource the same.
    assert (rolled_back["Status"], rolled_back["PhysicalResourceId"]) == ("SUCCESS", physical_id)
    assert rolled_back["Data"] == {"Applied": ""}
    assert "rollback" in rolled_back["Reason"].lower()
    assert schema_versions(fresh_database) == before


def test_a_rollback_after_a_migration_that_succeeded_does_not_migrate_forward_either(
    fresh_database, cloudformation, new_code
):
    # Given: the schema at layer 7's migrations; layer 8 brings one more, still pending when the rollback arrives
    # (a later resource of the same deploy failed before this resource was updated).
    physical_id = answer_to(cloudformation, stack_event(cloudformation, "Create"))["PhysicalResourceId"]
    new_code(**{"9002_probe": "CREATE TABLE deploy_probe (id integer);"})
    rolled_back = answer_to(cloudformation, update(cloudformation, physical_id, NEW_LAYER, OLD_LAYER))
    assert rolled_back["Status"] == "SUCCESS" and not table_exists(fresh_database, "deploy_probe")
    # The positive control: the same migration, on a forward Update, is applied.
    forward = answer_to(cloudformation, update(cloudformation, physical_id, OLD_LAYER, NEW_LAYER))
    assert (forward["Status"], forward["Data"]["Applied"]) == ("SUCCESS", "9002")
    assert table_exists(fresh_database, "deploy_probe")


def hold_the_migration_lock(url: str, release: threading.Event) -> threading.Thread:
    """Another deploy's migration, mid-way: it holds the migration lock until `release` is set."""
    taken = threading.Event()

    def hold() -> None:
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            taken.set()
            release.wait(60)
        connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(10)
    return thread


def test_a_migration_out_of_time_answers_failed_with_the_reason_before_lambdas_timeout(
    fresh_database, cloudformation, new_code
):
    # Given: another migration holds the lock for longer than this invocation has (Lambda would stop it at 25 s).
    new_code(**{"9003_probe": "CREATE TABLE deploy_probe (id integer);"})
    release = threading.Event()
    holder = hold_the_migration_lock(fresh_database, release)
    context = LocalLambdaContext("MigrateFunction", timeout_seconds=25)
    try:
        # When: CloudFormation asks for the Create.
        cloudformation.uploads.clear()
        FUNCTIONS["migrate"].load()(stack_event(cloudformation, "Create"), context)
        left = context.get_remaining_time_in_millis()
        response = answered(cloudformation)
    finally:
        release.set()
        holder.join(10)
    # Then: FAILED, saying why, answered with the margin for the answer still left; nothing applied.
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith("MigrationTimedOut: The schema migration did not finish within")
    assert left > 0
    assert not table_exists(fresh_database, "deploy_probe")


def test_a_migration_that_waits_some_seconds_behind_another_deploys_still_completes(
    fresh_database, cloudformation, new_code
):
    # Given: another migration holds the lock for 4 s (longer than a request's time limits, well inside the function's).
    new_code(**{"9004_probe": "CREATE TABLE deploy_probe (id integer);"})
    release = threading.Event()
    holder = hold_the_migration_lock(fresh_database, release)
    threading.Timer(4.0, release.set).start()
    try:
        response = answer_to(cloudformation, stack_event(cloudformation, "Create"))
    finally:
        release.set()
        holder.join(10)
    # Then: it waited, and migrated.
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["Data"]["Applied"].split(",")[-1] == "9004" and table_exists(fresh_database, "deploy_probe")


def test_delete_keeps_the_schema_and_the_data_and_answers_with_the_same_resource(fresh_database, cloudformation):
    physical_id = answer_to(cloudformation, stack_event(cloudformation, "Create"))["PhysicalResourceId"]
    before = schema_versions(fresh_database)
    deleted = answer_to(cloudformation, stack_event(cloudformation, "Delete", PhysicalResourceId=physical_id))
    assert (deleted["Status"], deleted["PhysicalResourceId"]) == ("SUCCESS", physical_id)
    assert schema_versions(fresh_database) == before and table_exists(fresh_database, "progress_events")


def test_the_physical_resource_id_is_the_same_on_every_create_and_kept_by_every_later_request(
    fresh_database, cloudformation
):
    # A Create in another container (another log stream) names the resource the same way: CloudFormation never
    # sees a replacement (which would send a Delete of the old id).
    first = answer_to(cloudformation, stack_event(cloudformation, "Create"), log_stream_name="2026/12/04/[$LATEST]a")
    again = answer_to(cloudformation, stack_event(cloudformation, "Create"), log_stream_name="2026/12/04/[$LATEST]b")
    assert first["PhysicalResourceId"] == again["PhysicalResourceId"] == "progress-tracking-schema"
    for request in (
        update(cloudformation, "earlier-id", OLD_LAYER, NEW_LAYER),
        update(cloudformation, "earlier-id", NEW_LAYER, OLD_LAYER),
    ):
        assert answer_to(cloudformation, request)["PhysicalResourceId"] == "earlier-id"
