"""Every built function, loaded as Lambda loads it (Python 3.12; only its build folder and the layer's python/
importable; the handler string from the template) and invoked with its file from events/ against a real Postgres."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localdev.stubs import StubServer
from tests.helpers.events import EVENTS_DIR, load_event

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def lambda_env(build, service_env, user_profile) -> dict[str, str]:
    """events/env.json (what `sam local invoke --env-vars` takes) with this run's database and peers filled in."""
    sample = json.loads((EVENTS_DIR / "env.json").read_text())["Parameters"]
    declared = set(next(iter(build.functions.values())).environment)
    assert set(sample) <= declared, "env.json sets variables the template does not declare: sam would ignore them"
    user_profile.known.add("dev-user-1")
    return {
        **{name: str(value) for name, value in sample.items()},
        "DATABASE_URL": service_env["DATABASE_URL"],
        "AUTH0_DOMAIN": "",
        "AUTH0_ISSUER": service_env["AUTH0_ISSUER"],
        "AUTH0_JWKS_URL": service_env["AUTH0_JWKS_URL"],
        "AUTH0_AUDIENCE": service_env["AUTH0_AUDIENCE"],
        "USER_SVC_BASE_URL": service_env["USER_SVC_BASE_URL"],
        "POWERTOOLS_SERVICE_NAME": "progress-tracking",
        "POWERTOOLS_METRICS_NAMESPACE": "ProgressTracking",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "AWS_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": "packaging-test",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678;Parent=0123456789abcdef;Sampled=0",
    }


def test_every_function_is_built_and_has_its_sample_event(build):
    events = {path.stem for path in EVENTS_DIR.glob("*.json")} - {"env"}
    assert set(build.functions) == events


def test_the_layer_carries_no_http_library_the_standard_library_replaces(build):
    # The User Profile client and the JWKS fetch use http.client: requests and what only it needs are not packaged
    # (urllib3 is, for botocore, which the X-Ray SDK needs when SDK tracing is on).
    packages = {path.name for path in build.layer_dir.iterdir()}
    assert {"requests", "charset_normalizer", "idna", "certifi"} & packages == set()
    assert {"psycopg2", "jwt", "pydantic", "aws_lambda_powertools"} <= packages  # the control: what it does carry


def invoke(build, lambda_env, tmp_path, name: str, *events: dict, env: dict[str, str] | None = None) -> list[dict]:
    result = build.run(build.functions[name], list(events), {**lambda_env, **(env or {})}, tmp_path)
    assert "import_error" not in result, result
    assert result["python"].startswith("3.12")
    # The relay alone loads the AWS SDK (the runtime's); every other function's cold start is spared it.
    assert result["boto3_loaded"] is (name == "publish_events")
    return [invocation.get("response", invocation) for invocation in result["invocations"]]


def with_log_id(name: str, log_id: int) -> dict:
    event = load_event(name)
    event["pathParameters"]["log_id"] = str(log_id)
    return event


def test_the_api_functions_answer_their_sample_events(build, lambda_env, tmp_path):
    (cleared,) = invoke(build, lambda_env, tmp_path, "delete_user_logs", load_event("delete_user_logs"))
    assert cleared["statusCode"] == 200
    (logged,) = invoke(build, lambda_env, tmp_path, "log_progress", load_event("log_progress"))
    assert logged["statusCode"] == 201, logged
    log_id = json.loads(logged["body"])["id"]
    assert logged["headers"]["Location"] == f"/api/progress/log/{log_id}"

    (listed,) = invoke(build, lambda_env, tmp_path, "get_progress", load_event("get_progress"))
    assert [entry["log_id"] for entry in json.loads(listed["body"])["progress_logs"]] == [log_id]
    (summary,) = invoke(build, lambda_env, tmp_path, "get_summary", load_event("get_summary"))
    assert json.loads(summary["body"])["log_count"] == 1
    (updated,) = invoke(build, lambda_env, tmp_path, "update_progress", with_log_id("update_progress", log_id))
    assert json.loads(updated["body"])["updated_log"]["version"] == 2
    (history,) = invoke(build, lambda_env, tmp_path, "get_log_history", with_log_id("get_log_history", log_id))
    assert [event["type"] for event in json.loads(history["body"])["events"]] == ["logged", "updated"]
    (rolled_back,) = invoke(build, lambda_env, tmp_path, "rollback_progress", with_log_id("rollback_progress", log_id))
    assert rolled_back["statusCode"] == 200 and rolled_back["headers"]["ETag"] == '"3"'
    (deleted,) = invoke(build, lambda_env, tmp_path, "delete_progress", with_log_id("delete_progress", log_id))
    assert json.loads(deleted["body"]) == {"message": "Progress log deleted", "deleted_log_id": log_id}


def test_the_goal_and_series_functions_answer_their_sample_events(build, lambda_env, tmp_path):
    invoke(build, lambda_env, tmp_path, "clear_goals", load_event("clear_goals"))  # an earlier run's goals, if any
    (put,) = invoke(build, lambda_env, tmp_path, "set_goals", load_event("set_goals"))
    assert put["statusCode"] == 200, put
    version = json.loads(put["body"])["goals"]["version"]
    (goals,) = invoke(build, lambda_env, tmp_path, "get_goals", load_event("get_goals"))
    assert goals["headers"]["ETag"] == f'"{version}"'
    (patched,) = invoke(build, lambda_env, tmp_path, "patch_goals", load_event("patch_goals"))
    assert patched["statusCode"] == 200 and patched["headers"]["ETag"] == f'"{version + 1}"', patched
    (history,) = invoke(build, lambda_env, tmp_path, "get_goal_history", load_event("get_goal_history"))
    assert json.loads(history["body"])["events"][-1]["type"] == "changed"
    (cleared,) = invoke(build, lambda_env, tmp_path, "clear_goals", load_event("clear_goals"))
    assert json.loads(cleared["body"])["version"] == version + 2
    (series,) = invoke(build, lambda_env, tmp_path, "get_series", load_event("get_series"))
    assert len(json.loads(series["body"])["series"]) == 4
    (changes,) = invoke(build, lambda_env, tmp_path, "get_changes", load_event("get_changes"))
    assert changes["statusCode"] == 200, changes
    assert json.loads(changes["body"])["next_token"]


def test_the_built_authorizer_allows_a_valid_token_and_refuses_the_placeholder(build, lambda_env, tmp_path, tokens):
    valid = load_event("authorizer")
    valid["authorizationToken"] = f"Bearer {tokens.user('dev-user-1')}"
    refused, allowed = invoke(build, lambda_env, tmp_path, "authorizer", load_event("authorizer"), valid)
    assert refused == {"error": "Exception: Unauthorized"}
    assert allowed["principalId"] == "dev-user-1"
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_the_built_recompute_runs_on_the_schedule_event(build, lambda_env, tmp_path):
    (report,) = invoke(build, lambda_env, tmp_path, "recompute_summaries", load_event("recompute_summaries"))
    assert report["finished"] is True and report["busy"] is False


class PutEventsStub:
    """EventBridge's PutEvents on loopback (JSON 1.1 protocol): takes every entry and keeps it."""

    def __init__(self) -> None:
        stub = self
        self.entries: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert self.headers["X-Amz-Target"] == "AWSEvents.PutEvents"
                stub.entries += request["Entries"]
                answer = {
                    "FailedEntryCount": 0,
                    "Entries": [{"EventId": str(uuid.uuid4())} for _ in request["Entries"]],
                }
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def test_the_built_relay_publishes_to_eventbridge_with_the_runtimes_sdk(build, lambda_env, tmp_path, database):
    from progress_tracking import outbox

    outbox.start_at_end(database, outbox.CHECKPOINT)  # only what this test writes
    (logged,) = invoke(build, lambda_env, tmp_path, "log_progress", load_event("log_progress"))
    log_id = json.loads(logged["body"])["id"]
    bus = PutEventsStub()
    aws = {
        "AWS_ENDPOINT_URL": bus.url,
        "AWS_DEFAULT_REGION": "eu-west-1",  # Lambda sets it (and AWS_REGION)
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "EVENT_BUS_NAME": "progress-bus",
    }
    for _ in range(50):  # the horizon may be held back by another database's open transaction for a moment
        (report,) = invoke(build, lambda_env, tmp_path, "publish_events", load_event("publish_events"), env=aws)
        assert "error" not in report and report["failed"] == 0 and report["busy"] is False, report
        if any(json.loads(entry["Detail"]).get("log_id") == log_id for entry in bus.entries):
            break
        time.sleep(0.2)
    published = [entry for entry in bus.entries if json.loads(entry["Detail"]).get("log_id") == log_id]
    assert [(entry["Source"], entry["DetailType"], entry["EventBusName"]) for entry in published] == [
        ("progress-tracking", "ProgressLogged", "progress-bus")
    ]
    bus.server.shutdown()


def test_the_built_user_deleted_consumer_erases_once(build, lambda_env, tmp_path):
    event = load_event("user_deleted")
    event["detail"]["user_id"] = "dev-user-1"
    invoke(build, lambda_env, tmp_path, "log_progress", load_event("log_progress"))
    first, again = invoke(build, lambda_env, tmp_path, "user_deleted", event, event)
    assert first["erased"]["streams"] == 1 and first["erased"]["events"] >= 1
    assert not any(again["erased"].values())
    malformed = load_event("user_deleted")
    malformed["detail"] = {}
    (failed,) = invoke(build, lambda_env, tmp_path, "user_deleted", malformed)
    assert failed["error"].startswith("MalformedUserDeleted")


def test_the_built_migrate_function_answers_cloudformation(build, lambda_env, tmp_path):
    with StubServer(lambda path: (404, {})) as cloudformation:
        event = load_event("migrate")
        event["ResponseURL"] = f"{cloudformation.url}/cloudformation-response"
        (response,) = invoke(build, lambda_env, tmp_path, "migrate", event)
        assert response["Status"] == "SUCCESS"
        assert json.loads(cloudformation.uploads[0][1])["Status"] == "SUCCESS"


def test_a_function_without_its_layer_fails_to_import(build, lambda_env, tmp_path):
    result = build.run(
        build.functions["get_progress"], [load_event("get_progress")], lambda_env, tmp_path, layers=False
    )
    assert "ModuleNotFoundError" in result["import_error"]


def test_the_built_docs_function_serves_the_page_and_its_assets_from_its_package(build, lambda_env, tmp_path):
    page = load_event("api_docs")
    page["pathParameters"] = {"asset": "swagger-ui.css"}
    document, stylesheet = invoke(build, lambda_env, tmp_path, "api_docs", load_event("api_docs"), page)
    assert len(json.loads(document["body"])["paths"]) >= 10
    assert stylesheet["statusCode"] == 200 and stylesheet["headers"]["Content-Type"].startswith("text/css")


# What each function may load, the import and its first invocation together: pydantic is for the functions with
# models (the settings are a dataclass, so the authorizer has none), the JWT stack is the authorizer's, the
# AWS SDK the relay's, requests no one's (the User Profile client and the JWKS fetch use http.client), the User
# Profile client its callers', and the X-Ray SDK no one's while SDK tracing is off. (`botocore` alone is
# Powertools' user-agent hook importing the package's __init__ whenever botocore is importable, as it always is in
# the Lambda runtime; its SDK machinery is `botocore.session`, `botocore.client`, ….)
USER_PROFILE_CALLERS = {"log_progress", "set_goals", "patch_goals", "upsert_logs", "import_progress"}
NO_DATABASE = {"authorizer", "api_docs"}
NO_MODELS = NO_DATABASE | {"migrate", "publish_events"}
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:progress-db-AbCdEf"


def expected_modules(name: str) -> dict[str, bool]:
    return {
        "jwt": name == "authorizer",
        "pydantic": name not in NO_MODELS,
        "cryptography": name == "authorizer",
        "requests": False,
        "progress_tracking.user_service": name in USER_PROFILE_CALLERS,
        "boto3": name == "publish_events",
        "botocore.client": name == "publish_events",
        "aws_xray_sdk": False,
    }


def first_event(name: str, tokens, cloudformation_url: str) -> dict:
    event = load_event(name)
    if name == "authorizer":
        event["authorizationToken"] = f"Bearer {tokens.user('dev-user-1')}"
    if name == "migrate":
        event["ResponseURL"] = f"{cloudformation_url}/cloudformation-response"
    return event


def test_the_first_invocation_loads_nothing_the_import_avoided(build, lambda_env, tmp_path, tokens, service_env):
    from localdev.stubs import SecretsExtensionStub

    # Given: every function as Lambda runs it, the database URL only in the secret, served by the extension.
    bus = PutEventsStub()
    with (
        SecretsExtensionStub("session-token", {SECRET_ARN: service_env["DATABASE_URL"]}) as extension,
        StubServer(lambda path: (404, {})) as cloudformation,
    ):
        env = {
            **lambda_env,
            "DATABASE_URL": "",
            "DATABASE_SECRET_ARN": SECRET_ARN,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            "AWS_SESSION_TOKEN": "session-token",
            "AWS_ENDPOINT_URL": bus.url,
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        loaded = {}
        for name, function in sorted(build.functions.items()):
            # When: it is imported and invoked once with its sample event.
            result = build.run(function, [first_event(name, tokens, cloudformation.url)], env, tmp_path)
            (answer,) = result["invocations"]
            assert "error" not in answer, (name, answer)
            response = answer["response"]
            if "statusCode" in response:  # an API function: its whole path ran (no 5xx before the work was done)
                assert response["statusCode"] < 500, (name, response)
            modules = set(result["modules"])
            loaded[name] = {module: module in modules for module in expected_modules(name)}
        # The secret was read through the extension by every database function (one read per container): all but the
        # authorizer and the docs page.
        assert len(extension.served) == len(build.functions) - len(NO_DATABASE) and extension.refused == []
    bus.server.shutdown()
    # Then: each loaded exactly what its path uses (the equalities are their own positive controls: the authorizer
    # does load the JWT stack, the relay the SDK, log_progress and set_goals the User Profile client).
    assert loaded == {name: expected_modules(name) for name in build.functions}


def test_sdk_tracing_switched_on_loads_the_xray_sdk_on_the_first_invocation(build, lambda_env, tmp_path):
    function = build.functions["get_progress"]
    off = build.run(function, [load_event("get_progress")], lambda_env, tmp_path)
    on = build.run(function, [load_event("get_progress")], {**lambda_env, "SDK_TRACING": "true"}, tmp_path)
    assert [r["response"]["statusCode"] for r in (*off["invocations"], *on["invocations"])] == [200, 200]
    assert ("aws_xray_sdk" in off["modules"], "aws_xray_sdk" in on["modules"]) == (False, True)
