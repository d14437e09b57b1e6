"""Each metric of progress_tracking.metric_catalog, read back from the EMF documents its real code path prints (as
CloudWatch reads them from the function's log): its name, unit, dimensions and value."""

from __future__ import annotations

import contextlib
import json
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import pytest
from moto import mock_aws

from localdev.lambda_context import LocalLambdaContext
from localdev.stubs import StubServer
from progress_tracking import config, db, eventbridge, logs, metric_catalog, outbox, summaries
from progress_tracking import tokens as token_verification
from progress_tracking.db import Database
from progress_tracking.observability import metrics
from progress_tracking.store import appending, checkpoints, summary_facts
from tests.helpers import FUNCTIONS
from tests.helpers.events import load_event

SERVICE = {"service": "progress-tracking"}
BACKDATED_SECONDS = 600


@dataclass(frozen=True)
class Emitted:
    name: str
    unit: str
    dimensions: dict[str, str]
    values: list[float]


def emitted(output: str) -> list[Emitted]:
    """Every metric of every EMF document among the printed lines, with the document's one dimension set."""
    found = []
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "ProgressTracking"
            (names,) = directive["Dimensions"]
            dimensions = {name: document[name] for name in names}
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values = [float(v) for v in value] if isinstance(value, list) else [float(value)]
                found.append(Emitted(metric["Name"], metric["Unit"], dimensions, values))
    return found


def only(found: list[Emitted], name: str) -> Emitted:
    (metric,) = [metric for metric in found if metric.name == name]
    return metric


def names(found: list[Emitted]) -> set[str]:
    return {metric.name for metric in found}


@pytest.fixture(scope="module")
def invoke(service_env):
    handlers = {name: spec.load() for name, spec in FUNCTIONS.items()}

    def call(name: str, event: dict[str, Any]) -> Any:
        spec = FUNCTIONS[name]
        # Metrics recorded outside any handler by earlier tests (the recompute run directly, say) wait in the process's
        # one metric store and would be published with this invocation's: a Lambda container starts without them.
        metrics.clear_metrics()
        return handlers[name](event, LocalLambdaContext(spec.logical_id, spec.memory_mb, spec.timeout_seconds))

    return call


def for_user(event: dict[str, Any], user_id: str) -> dict[str, Any]:
    """An API sample event on behalf of `user_id` (its own token, its own path)."""
    event["requestContext"]["authorizer"].update(principalId=user_id, principal=user_id, user_id=user_id)
    if "user_id" in (event.get("pathParameters") or {}):
        event["pathParameters"]["user_id"] = user_id
    return event


def log_for(user_id: str) -> dict[str, Any]:
    event = for_user(load_event("log_progress"), user_id)
    event["body"] = json.dumps({"user_id": user_id, "date": "2026-03-01", "weight_kg": 80.0})
    return event


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """The functions' settings read again with these variables, and as they were afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        for cached in (config.get_settings, db.get_database, token_verification.cached_verifier):
            cached.cache_clear()
        try:
            yield
        finally:
            patch.undo()
            for cached in (config.get_settings, db.get_database, token_verification.cached_verifier):
                cached.cache_clear()


# --- The API: requests by route and status class, latency by route group, 503s by code ----------------------------


def test_a_read_counts_its_route_and_status_class_times_its_route_group_and_warns_of_nothing(invoke, capsys):
    event = for_user(load_event("get_progress"), f"reader-{uuid.uuid4().hex[:8]}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert invoke("get_progress", event)["statusCode"] == 200
    # Powertools warned "No application metrics to publish" after each read (nothing in the invocation's document).
    assert [str(warning.message) for warning in caught] == []
    found = emitted(capsys.readouterr().out)
    assert only(found, "Requests") == Emitted(
        "Requests", "Count", {"route": "GET /api/progress/{user_id}", "status_class": "2xx", **SERVICE}, [1.0]
    )
    latency = only(found, "RequestLatency")
    assert (latency.unit, latency.dimensions) == ("Milliseconds", {"route_group": "read", **SERVICE})
    assert 0 < latency.values[0] < 10_000
    assert len(found) == 2  # nothing else on a read


def test_an_invalid_request_is_a_4xx_and_a_validation_failure(invoke, capsys):
    event = load_event("get_summary")
    event["queryStringParameters"] = {"from": "yesterday"}
    assert invoke("get_summary", event)["statusCode"] == 400
    found = emitted(capsys.readouterr().out)
    assert only(found, "Requests").dimensions == {
        "route": "GET /api/progress/summary/{user_id}",
        "status_class": "4xx",
        **SERVICE,
    }
    assert only(found, "RequestLatency").dimensions == {"route_group": "summary", **SERVICE}
    assert only(found, "ValidationFailures") == Emitted("ValidationFailures", "Count", SERVICE, [1.0])


def test_a_write_counts_the_log_and_times_the_user_profile_call(invoke, capsys, new_user):
    assert invoke("log_progress", log_for(new_user("metrics")))["statusCode"] == 201
    found = emitted(capsys.readouterr().out)
    assert only(found, "Requests").dimensions == {"route": "POST /api/progress/log", "status_class": "2xx", **SERVICE}
    assert only(found, "RequestLatency").dimensions == {"route_group": "write", **SERVICE}
    assert only(found, "ProgressLogged") == Emitted("ProgressLogged", "Count", SERVICE, [1.0])
    call = only(found, "UserServiceLatency")
    assert (call.unit, call.dimensions, len(call.values)) == ("Milliseconds", SERVICE, 1)
    assert "UserServiceFailures" not in names(found) and "ServiceUnavailable" not in names(found)  # the control


def test_the_user_profile_service_failing_is_a_failed_call_and_a_503_by_its_code(
    invoke, capsys, new_user, user_profile
):
    user_profile.mode = "error"
    assert invoke("log_progress", log_for(new_user("metrics")))["statusCode"] == 503
    found = emitted(capsys.readouterr().out)
    assert only(found, "UserServiceFailures") == Emitted("UserServiceFailures", "Count", SERVICE, [1.0])
    assert only(found, "ServiceUnavailable") == Emitted(
        "ServiceUnavailable", "Count", {"code": "user_service_unavailable", **SERVICE}, [1.0]
    )
    assert only(found, "Requests").dimensions["status_class"] == "5xx"
    assert "ProgressLogged" not in names(found)


def test_the_database_unreachable_is_a_503_by_its_code(invoke, capsys):
    with environment(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing"):
        assert invoke("get_progress", load_event("get_progress"))["statusCode"] == 503
    found = emitted(capsys.readouterr().out)
    assert only(found, "ServiceUnavailable") == Emitted(
        "ServiceUnavailable", "Count", {"code": "database_unavailable", **SERVICE}, [1.0]
    )
    assert only(found, "Requests").dimensions == {
        "route": "GET /api/progress/{user_id}",
        "status_class": "5xx",
        **SERVICE,
    }


# --- The authorizer: key set fetches, failed fetches, its own failures ---------------------------------------------


def test_the_authorizer_counts_key_set_fetches_and_the_failed_ones(invoke, capsys, tokens, service_env):
    event = load_event("authorizer")
    event["authorizationToken"] = f"Bearer {tokens.user('metrics-user')}"
    with environment():  # a new container: its first token fetches the key set
        invoke("authorizer", event)
        found = emitted(capsys.readouterr().out)
        assert only(found, "JwksFetches") == Emitted("JwksFetches", "Count", SERVICE, [1.0])
        assert "JwksFetchFailures" not in names(found)  # the control
        invoke("authorizer", event)  # the keys are cached: no fetch
        assert "JwksFetches" not in names(emitted(capsys.readouterr().out))

    with (
        StubServer(lambda path: (500, {"message": "down"})) as tenant,
        environment(AUTH0_JWKS_URL=tenant.url),
        pytest.raises(Exception, match=r"^Unauthorized$"),
    ):
        invoke("authorizer", event)
    found = emitted(capsys.readouterr().out)
    assert only(found, "JwksFetches").values == [1.0]
    assert only(found, "JwksFetchFailures") == Emitted("JwksFetchFailures", "Count", SERVICE, [1.0])
    assert "AuthorizerFailures" not in names(found)  # the tenant failed, not the authorizer


def test_an_authorizer_failure_other_than_the_token_is_counted_and_a_refused_token_is_not(invoke, capsys, monkeypatch):
    def broken():
        raise RuntimeError("AUTH0_AUDIENCE must be set")

    monkeypatch.setattr(FUNCTIONS["authorizer"].load_module(), "get_verifier", broken)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke("authorizer", load_event("authorizer"))
    found = emitted(capsys.readouterr().out)
    assert only(found, "AuthorizerFailures") == Emitted("AuthorizerFailures", "Count", SERVICE, [1.0])

    monkeypatch.undo()
    refused = load_event("authorizer")
    refused["authorizationToken"] = "Bearer not.a.token"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke("authorizer", refused)
    assert "AuthorizerFailures" not in names(emitted(capsys.readouterr().out))


# --- The relay: its lag, written by every run, and what it published ------------------------------------------------


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    eventbridge.get_client.cache_clear()
    with mock_aws():
        yield
    eventbridge.get_client.cache_clear()


@pytest.fixture
def follower_name(database: Database) -> Iterator[str]:
    """A checkpoint of this test's own, at the end of the log: a relay (or a recompute) that has followed it all."""
    name = f"lag-test-{uuid.uuid4().hex[:10]}"
    outbox.start_at_end(database, name)
    yield name
    database.run(lambda cursor: cursor.execute("DELETE FROM projector_checkpoints WHERE name = %s", (name,)))


def add_log(database: Database, user_id: str) -> None:
    change = appending.Change(actor="t", request_id="req-lag")
    database.run(
        lambda cursor: appending.log_new(cursor, user_id, {"date": date(2026, 2, 1), "weight_kg": 70.0}, change)
    )


@pytest.fixture
def backdate(database: Database) -> Iterator[Callable[..., None]]:
    """Makes a user's events look `seconds` old; those users are erased afterwards, since their projection no longer
    agrees with their events (the suites after this one compare the two for the whole database)."""
    backdated = []

    def make_old(user_id: str, seconds: int = BACKDATED_SECONDS) -> None:
        backdated.append(user_id)

        def work(cursor):
            cursor.execute(
                "UPDATE progress_events SET occurred_at = occurred_at - make_interval(secs => %s) WHERE user_id = %s",
                (seconds, user_id),
            )

        database.run(work)

    yield make_old
    for user_id in backdated:
        logs.erase_deleted_user(database, user_id)


@contextlib.contextmanager
def horizon_held(database_url: str) -> Iterator[None]:
    """A transaction that has written nothing yet holds an id: every transaction after it stays above the horizon
    until it ends (a long transaction, as the runbook's "relay stuck")."""
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
        yield
    finally:
        connection.rollback()
        connection.close()


def test_the_relay_lag_is_the_age_of_the_oldest_committed_event_not_yet_published_and_zero_once_published(
    database, database_url, follower_name, aws, backdate
):
    client = boto3.client("events")
    user_id = f"lag-{uuid.uuid4().hex[:10]}"
    assert outbox.seconds_behind(database, follower_name) == 0  # nothing to publish
    with horizon_held(database_url):
        add_log(database, user_id)
        backdate(user_id)
        # Committed, but above the horizon: the relay may not publish it yet, and its lag grows.
        assert outbox.relay(database, client, "default", lambda: 600_000, name=follower_name).published == 0
        assert BACKDATED_SECONDS <= outbox.seconds_behind(database, follower_name) < BACKDATED_SECONDS + 60
    report = outbox.relay(database, client, "default", lambda: 600_000, name=follower_name)
    assert report.published >= 1
    assert outbox.seconds_behind(database, follower_name) == 0


def test_every_relay_run_writes_its_lag_busy_or_not_with_what_it_published(invoke, capsys, database, database_url, aws):
    found = []
    invoke("publish_events", load_event("publish_events"))
    found.append(emitted(capsys.readouterr().out))
    # Another relay holds the lock: this run publishes nothing, and still says how far behind the relay is.
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (outbox.RELAY_LOCK_CLASS, outbox.CHECKPOINT)
            )
            assert invoke("publish_events", load_event("publish_events"))["busy"] is True
    finally:
        connection.rollback()
        connection.close()
    found.append(emitted(capsys.readouterr().out))
    for run in found:
        lag = only(run, "RelayLag")
        assert (lag.unit, lag.dimensions, len(lag.values)) == ("Seconds", SERVICE, 1) and lag.values[0] >= 0
        assert only(run, "DomainEventsPublished").dimensions == SERVICE
        assert only(run, "DomainEventsFailed") == Emitted("DomainEventsFailed", "Count", SERVICE, [0.0])
    assert only(found[1], "DomainEventsPublished").values == [0.0]


# --- The recompute: its lag, written by every run, and the users it recomputed --------------------------------------


def recompute_checkpoint_at_the_horizon(database: Database, name: str) -> None:
    def work(cursor):
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        (horizon,) = cursor.fetchone()
        checkpoints.save_checkpoint(cursor, name, checkpoints.Checkpoint(horizon, 0), datetime.now(UTC))

    database.run(work)


def test_the_recompute_lag_is_the_age_of_the_oldest_change_no_summary_reflects(
    invoke, database, follower_name, new_user, backdate
):
    recompute_checkpoint_at_the_horizon(database, follower_name)
    assert summaries.seconds_behind(database, follower_name) == 0
    user_id = f"lag-{uuid.uuid4().hex[:10]}"
    add_log(database, user_id)
    backdate(user_id)
    assert BACKDATED_SECONDS <= summaries.seconds_behind(database, follower_name) < BACKDATED_SECONDS + 60
    # Brought up to date (by a run, or by a reader): no summary is stale any more, though the stream is after the
    # checkpoint.
    database.run(lambda cursor: summary_facts.refresh_stale(cursor, [user_id], datetime.now(UTC)))
    assert summaries.seconds_behind(database, follower_name) == 0

    # Goals change a summary too: stale since the goals were set, not since the user's last log a month before.
    goals_user = new_user("lag-goals")
    add_log(database, goals_user)
    database.run(lambda cursor: summary_facts.refresh_stale(cursor, [goals_user], datetime.now(UTC)))
    backdate(goals_user, 30 * 86400)
    event = for_user(load_event("set_goals"), goals_user)
    assert invoke("set_goals", event)["statusCode"] == 200
    assert 0 < summaries.seconds_behind(database, follower_name) < 60


def test_every_recompute_run_writes_its_lag_and_the_users_it_recomputed(invoke, capsys, new_user):
    assert invoke("log_progress", log_for(new_user("recomputed")))["statusCode"] == 201
    capsys.readouterr()
    report = invoke("recompute_summaries", load_event("recompute_summaries"))
    found = emitted(capsys.readouterr().out)
    lag = only(found, "RecomputeLag")
    assert (lag.unit, lag.dimensions, len(lag.values)) == ("Seconds", SERVICE, 1) and lag.values[0] >= 0
    assert only(found, "SummariesRecomputed") == Emitted(
        "SummariesRecomputed", "Count", SERVICE, [float(report["users"])]
    )


# --- UserDeleted: processed, erased, rejected -----------------------------------------------------------------------


def test_a_user_deleted_is_counted_as_processed_and_as_erasing_something(invoke, capsys, database):
    user_id = f"deleted-{uuid.uuid4().hex[:10]}"
    add_log(database, user_id)
    event = load_event("user_deleted")
    event["detail"] = {"user_id": user_id}
    invoke("user_deleted", event)
    found = emitted(capsys.readouterr().out)
    assert only(found, "UserDeletedProcessed") == Emitted("UserDeletedProcessed", "Count", SERVICE, [1.0])
    assert only(found, "DeletedUsersErased") == Emitted("DeletedUsersErased", "Count", SERVICE, [1.0])
    invoke("user_deleted", event)  # again (EventBridge delivers at least once): processed, nothing left to erase
    found = emitted(capsys.readouterr().out)
    assert (only(found, "UserDeletedProcessed").values, only(found, "DeletedUsersErased").values) == ([1.0], [0.0])
    assert "UserDeletedRejected" not in names(found)


def test_a_malformed_user_deleted_is_counted_as_rejected_not_processed(invoke, capsys):
    event = load_event("user_deleted")
    event["detail"] = {"userId": "someone"}
    with pytest.raises(Exception, match=r"UserDeleted event without a usable detail\.user_id"):
        invoke("user_deleted", event)
    found = emitted(capsys.readouterr().out)
    assert only(found, "UserDeletedRejected") == Emitted("UserDeletedRejected", "Count", SERVICE, [1.0])
    assert "UserDeletedProcessed" not in names(found)


def test_every_metric_of_the_catalog_is_read_back_by_a_test_here():
    source = Path(__file__).read_text()
    assert [metric.name for metric in metric_catalog.CATALOG if f'"{metric.name}"' not in source] == []
