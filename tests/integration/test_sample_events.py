"""Every function invoked in-process with its sample event from events/, against the real database and peers."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from localdev.lambda_context import LocalLambdaContext
from tests.helpers import FUNCTIONS
from tests.helpers.events import EVENTS_DIR, load_event


@pytest.fixture(scope="module")
def invoke(service_env):
    handlers = {name: spec.load() for name, spec in FUNCTIONS.items()}

    def call(name: str, event: dict):
        spec = FUNCTIONS[name]
        return handlers[name](event, LocalLambdaContext(spec.logical_id, spec.memory_mb, spec.timeout_seconds))

    return call


def test_every_function_has_a_sample_event_and_every_event_a_function():
    assert {path.stem for path in EVENTS_DIR.glob("*.json") if path.stem != "env"} == set(FUNCTIONS)


def test_the_authorizer_event_allows_a_valid_token_and_refuses_the_placeholder(invoke, tokens):
    event = load_event("authorizer")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke("authorizer", event)
    event["authorizationToken"] = f"Bearer {tokens.user('dev-user-1')}"
    policy = invoke("authorizer", event)
    assert policy["principalId"] == "dev-user-1"
    assert policy["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": ["arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/*/*"],
        }
    ]
    assert policy["context"] == {
        "principal": "dev-user-1",
        "scope": "delete:progress read:progress write:progress",
        "user_id": "dev-user-1",
        "client": "false",
        "exp": str(jwt.decode(event["authorizationToken"].split()[1], options={"verify_signature": False})["exp"]),
    }


def test_the_api_events_drive_each_handler(invoke, user_profile):
    user_profile.known.add("dev-user-1")
    assert invoke("delete_user_logs", load_event("delete_user_logs"))["statusCode"] == 200

    logged = invoke("log_progress", load_event("log_progress"))
    assert logged["statusCode"] == 201, logged
    assert logged["headers"]["X-Request-Id"] == "sample-api-progress-log-post"
    log_id = json.loads(logged["body"])["id"]

    listed = json.loads(invoke("get_progress", load_event("get_progress"))["body"])
    assert [entry["log_id"] for entry in listed["progress_logs"]] == [log_id]

    summary = json.loads(invoke("get_summary", load_event("get_summary"))["body"])
    assert summary["log_count"] == 1 and summary["latest_weight_kg"] == 81.2

    update = load_event("update_progress")
    update["pathParameters"]["log_id"] = str(log_id)
    updated = json.loads(invoke("update_progress", update)["body"])
    assert updated["updated_log"]["notes"] == "Felt strong" and updated["updated_log"]["version"] == 2

    history = load_event("get_log_history")
    history["pathParameters"]["log_id"] = str(log_id)
    events = json.loads(invoke("get_log_history", history)["body"])["events"]
    assert [event["type"] for event in events] == ["logged", "updated"]

    rollback = load_event("rollback_progress")
    rollback["pathParameters"]["log_id"] = str(log_id)
    rolled_back = invoke("rollback_progress", rollback)
    assert rolled_back["statusCode"] == 200 and rolled_back["headers"]["ETag"] == '"3"'

    delete = load_event("delete_progress")
    delete["pathParameters"]["log_id"] = str(log_id)
    assert json.loads(invoke("delete_progress", delete)["body"]) == {
        "message": "Progress log deleted",
        "deleted_log_id": log_id,
    }

    exported = json.loads(invoke("export_progress", load_event("export_progress"))["body"])
    assert exported["logs"] == [] and [event["type"] for event in exported["log_events"]][-1] == "deleted"
    planned = json.loads(invoke("import_progress", load_event("import_progress"))["body"])
    assert (planned["format"], planned["dry_run"], planned["created"]) == ("wger", True, 2)


def test_the_batch_event_drives_its_handler_and_a_resend_changes_nothing(invoke, user_profile):
    user_profile.known.add("dev-user-1")
    first = invoke("upsert_logs", load_event("upsert_logs"))
    assert first["statusCode"] == 200, first
    assert first["headers"]["X-Request-Id"] == "sample-api-progress-logs-batch-post"
    results = json.loads(first["body"])["results"]
    assert [result["index"] for result in results] == [0, 1, 2]
    # The same event again (an earlier run's records included): the records are unchanged, the plain log is new.
    again = json.loads(invoke("upsert_logs", load_event("upsert_logs"))["body"])["results"]
    assert [result["outcome"] for result in again] == ["unchanged", "unchanged", "created"]
    assert [result["log_id"] for result in again[:2]] == [result["log_id"] for result in results[:2]]


def test_the_goal_and_series_events_drive_their_handlers(invoke, user_profile):
    user_profile.known.add("dev-user-1")
    invoke("clear_goals", load_event("clear_goals"))  # from an earlier run's goals, if any
    put = invoke("set_goals", load_event("set_goals"))
    assert put["statusCode"] == 200, put
    version = json.loads(put["body"])["goals"]["version"]
    assert put["headers"]["ETag"] == f'"{version}"'
    goals = json.loads(invoke("get_goals", load_event("get_goals"))["body"])
    assert goals["target_weight_kg"] == 76.0 and goals["weekly_workouts"] == 3
    patched = invoke("patch_goals", load_event("patch_goals"))
    assert patched["statusCode"] == 200, patched
    goals = json.loads(patched["body"])["goals"]
    assert (goals["target_weight_kg"], goals["weekly_workouts"], goals["version"]) == (75.0, 3, version + 1)
    history = json.loads(invoke("get_goal_history", load_event("get_goal_history"))["body"])
    assert [event["type"] for event in history["events"][-2:]] == ["set", "changed"]
    cleared = json.loads(invoke("clear_goals", load_event("clear_goals"))["body"])
    assert cleared == {"message": "Goals cleared", "user_id": "dev-user-1", "version": version + 2}
    series = json.loads(invoke("get_series", load_event("get_series"))["body"])
    assert [entry["start"] for entry in series["series"]] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    changes = json.loads(invoke("get_changes", load_event("get_changes"))["body"])
    assert changes["user_id"] == "dev-user-1" and changes["next_token"]
    positions = [change["stream_position"] for change in changes["changes"]]
    assert positions and positions == sorted(positions)  # the goals' events just written, at least


def test_the_schedule_event_drives_the_recompute(invoke):
    report = invoke("recompute_summaries", load_event("recompute_summaries"))
    assert report["finished"] is True and report["busy"] is False


def test_a_handler_invoked_without_an_authorizer_context_refuses(invoke):
    event = load_event("get_progress")
    event["requestContext"].pop("authorizer")
    response = invoke("get_progress", event)
    assert response["statusCode"] == 403


@pytest.mark.parametrize(("expires_in", "status"), [(60, 200), (-25, 200), (-31, 401), (None, 401)])
def test_a_handler_refuses_a_token_that_expired_since_the_authorizer_allowed_it(
    invoke, user_profile, expires_in, status
):
    # The authorizer's answer is cached per token (for 300 s at API Gateway): the handler checks the token's exp,
    # with the verifier's 30 s leeway (so -25 passes, the positive control, and -31 does not).
    event = load_event("get_progress")
    if expires_in is None:
        event["requestContext"]["authorizer"].pop("exp")
    else:
        event["requestContext"]["authorizer"]["exp"] = str(int(time.time()) + expires_in)
    response = invoke("get_progress", event)
    assert response["statusCode"] == status, response
    if status == 401:
        assert json.loads(response["body"]) == {"message": "Unauthorized", "code": "token_expired"}
        assert response["headers"]["X-Request-Id"] == "sample-api-progress-user_id-get"


def test_the_schedule_event_drives_the_outbox_relay(invoke, database, monkeypatch):
    from moto import mock_aws

    from progress_tracking import eventbridge, outbox

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    outbox.start_at_end(database, outbox.CHECKPOINT)  # what earlier tests wrote is not this test's business
    eventbridge.get_client.cache_clear()
    with mock_aws():
        report = invoke("publish_events", load_event("publish_events"))
    eventbridge.get_client.cache_clear()
    assert report["busy"] is False and report["failed"] == 0


def test_the_user_deleted_event_drives_the_consumer(invoke):
    first = invoke("user_deleted", load_event("user_deleted"))
    assert set(first["erased"]) >= {"events", "logs", "streams"}
    assert not any(invoke("user_deleted", load_event("user_deleted"))["erased"].values())


def test_the_docs_event_drives_the_docs_function(invoke):
    document = invoke("api_docs", load_event("api_docs"))
    assert document["statusCode"] == 200
    # The stage in front of /docs is where this API is served: "Try it out" calls it.
    assert json.loads(document["body"])["servers"] == [{"url": "/v1", "description": "This API"}]
    page = load_event("api_docs")
    page["pathParameters"] = None
    answered = invoke("api_docs", page)
    assert answered["headers"]["Content-Type"].startswith("text/html") and "SwaggerUIBundle" in answered["body"]
    page["pathParameters"] = {"asset": "swagger-ui-bundle.js"}
    assert len(invoke("api_docs", page)["body"]) > 100_000
    page["pathParameters"] = {"asset": "..%2Fapp.py"}  # negative control: only the named assets
    assert invoke("api_docs", page)["statusCode"] == 404
