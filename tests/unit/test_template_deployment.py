"""The template deploys in the right order and reserves capacity only where it belongs."""

from __future__ import annotations

from pathlib import Path

from localdev.template import read_template
from tests.helpers.template import FUNCTION_RESOURCES, RESOURCES, is_api_function

ROOT = Path(__file__).resolve().parents[2]
GLOBALS = read_template(ROOT / "template.yaml")["Globals"]["Function"]


def _uses_the_database(spec: dict) -> bool:
    return {"Ref": "DatabaseSecretReadPolicy"} in spec["Properties"].get("Policies", [])


def _depends_on(spec: dict) -> list[str]:
    depends = spec.get("DependsOn", [])
    return [depends] if isinstance(depends, str) else depends


def test_every_function_that_touches_the_database_is_updated_only_after_the_migration():
    database_functions = {name for name, spec in FUNCTION_RESOURCES.items() if _uses_the_database(spec)} - {
        "MigrateFunction"
    }
    assert len(database_functions) >= 9  # the eight API functions and the recompute, at least
    waiting = {name for name in database_functions if "SchemaMigration" in _depends_on(FUNCTION_RESOURCES[name])}
    assert waiting == database_functions


def test_the_migration_itself_does_not_wait_for_the_migration():
    assert "SchemaMigration" not in _depends_on(FUNCTION_RESOURCES["MigrateFunction"])


def test_reserved_concurrency_is_a_parameter_of_the_api_functions_and_the_followers_only():
    assert "ReservedConcurrentExecutions" not in GLOBALS
    api_functions = {name for name, spec in FUNCTION_RESOURCES.items() if is_api_function(spec)}
    assert len(api_functions) >= 8
    reserved = {
        name for name, spec in FUNCTION_RESOURCES.items() if "ReservedConcurrentExecutions" in spec["Properties"]
    }
    # The two followers of the event log may be reserved one each; the UserDeleted consumer needs no reservation.
    assert reserved == api_functions | {"RecomputeSummariesFunction", "PublishEventsFunction"}
    for name in api_functions:
        assert FUNCTION_RESOURCES[name]["Properties"]["ReservedConcurrentExecutions"] == {
            "Fn::If": ["HasReservedConcurrency", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
        }, name


def test_the_followers_reserve_concurrency_only_when_asked_and_by_default_not():
    # A new account's concurrency quota is 10, with 10 kept unreserved: a reservation there fails the deploy. Their
    # advisory locks keep one run of each at a time either way (tests/integration/test_summaries.py, test_outbox.py).
    template = read_template(ROOT / "template.yaml")
    parameter = template["Parameters"]["FollowerReservedConcurrency"]
    assert (parameter["Default"], parameter["AllowedValues"]) == (0, [0, 1])
    assert template["Conditions"]["HasFollowerReservedConcurrency"] == {
        "Fn::Equals": [{"Ref": "FollowerReservedConcurrency"}, 1]
    }
    for name in ("RecomputeSummariesFunction", "PublishEventsFunction"):
        assert FUNCTION_RESOURCES[name]["Properties"]["ReservedConcurrentExecutions"] == {
            "Fn::If": ["HasFollowerReservedConcurrency", 1, {"Ref": "AWS::NoValue"}]
        }, name
    assert template["Parameters"]["ApiReservedConcurrency"]["Default"] == 0


def test_the_outbox_relay_may_only_put_events_on_its_bus():
    relay = FUNCTION_RESOURCES["PublishEventsFunction"]["Properties"]
    assert {"EventBridgePutEventsPolicy": {"EventBusName": {"Ref": "EventBusName"}}} in relay["Policies"]
    assert relay["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": "EventBusName"}
    assert relay["Events"]["Schedule"]["Properties"]["Schedule"] == {"Ref": "DomainEventScheduleRate"}


def test_the_user_deleted_consumer_is_triggered_by_its_rule_and_fails_to_an_alarmed_queue():
    consumer = FUNCTION_RESOURCES["UserDeletedFunction"]["Properties"]
    rule = consumer["Events"]["UserDeleted"]
    assert rule["Type"] == "EventBridgeRule"
    assert rule["Properties"]["Pattern"] == {
        "source": [{"Ref": "UserDeletedSource"}],
        "detail-type": [{"Ref": "UserDeletedDetailType"}],
    }
    queue_arn = {"Fn::GetAtt": ["UserDeletedDeadLetterQueue", "Arn"]}
    assert consumer["EventInvokeConfig"]["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": queue_arn}
    assert rule["Properties"]["DeadLetterConfig"] == {"Arn": queue_arn}
    alarm = RESOURCES["UserDeletedDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["UserDeletedDeadLetterQueue", "QueueName"]}}
    ]


def test_the_docs_page_is_public_optional_and_off_by_default():
    template = read_template(ROOT / "template.yaml")
    assert template["Parameters"]["ApiDocs"]["Default"] == "false"
    assert template["Conditions"]["HasApiDocs"] == {"Fn::Equals": [{"Ref": "ApiDocs"}, "true"]}
    docs = FUNCTION_RESOURCES["ApiDocsFunction"]
    assert docs["Condition"] == "HasApiDocs"
    assert not _uses_the_database(docs) and not is_api_function(docs)
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in docs["Properties"]["Events"].values()}
    assert routes == {("GET", "/docs"), ("GET", "/docs/{asset}")}
    # Negative control: every other API function stays behind the authorizer.
    guarded = [name for name, spec in FUNCTION_RESOURCES.items() if is_api_function(spec)]
    assert len(guarded) >= 13 and "ApiDocsFunction" not in guarded
