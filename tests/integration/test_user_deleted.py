"""The User Profile service's UserDeleted event, delivered as EventBridge delivers it to the consumer function:
the user's progress is erased as the admin erasure erases it, once; redeliveries and unknown users are no-ops; a
malformed event fails the invocation (so Lambda's retries and the dead-letter queue take it) and is counted."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import pytest

from localdev.lambda_context import LocalLambdaContext
from localdev.template import load_api
from progress_tracking import user_deleted
from progress_tracking.store import appending
from tests.helpers import count_rows, tombstones
from tests.helpers.events import load_event

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = load_api(ROOT / "template.yaml").functions["UserDeletedFunction"]


@pytest.fixture(scope="module")
def consumer(service_env):
    handler = CONSUMER.load()
    return lambda event: handler(event, LocalLambdaContext(CONSUMER.logical_id, CONSUMER.memory_mb, 10))


def user_deleted_event(user_id: object) -> dict:
    event = load_event("user_deleted")
    event["id"] = str(uuid.uuid4())
    event["detail"] = {"user_id": user_id}
    return event


def give_data(database, user_id: str) -> None:
    change = appending.Change(actor="t", request_id=None)
    for weight in (80.0, 79.0):
        fields = {"date": date(2026, 3, 1), "weight_kg": weight}
        database.run(lambda cursor, fields=fields: appending.log_new(cursor, user_id, fields, change))


def test_a_user_deleted_redelivered_three_times_erases_once_then_does_nothing(consumer, database):
    user_id = f"deleted-{uuid.uuid4().hex[:10]}"
    give_data(database, user_id)
    assert count_rows(database, user_id)["progress_events"] == 2  # positive control: there is something to erase
    event = user_deleted_event(user_id)

    first = consumer(event)["erased"]
    assert (first["events"], first["logs"], first["streams"]) == (2, 2, 1)
    assert set(first) == {
        "events",
        "logs",
        "log_versions",
        "summaries",
        "idempotency_keys",
        "goal_events",
        "goals",
        "client_records",
        "streams",
    }
    assert not any(count_rows(database, user_id).values())
    assert tombstones(database, user_id) == 1  # one UserProgressErased to publish

    for _ in range(2):  # EventBridge delivers at least once: the same event again
        assert not any(consumer(event)["erased"].values())
    assert tombstones(database, user_id) == 1  # still one: nothing more is published


def test_a_user_deleted_for_a_user_unknown_here_is_a_no_op(consumer, database):
    user_id = f"never-{uuid.uuid4().hex[:10]}"
    assert not any(consumer(user_deleted_event(user_id))["erased"].values())
    assert tombstones(database, user_id) == 0


@pytest.mark.parametrize(
    "detail",
    [None, {}, {"user_id": ""}, {"user_id": 42}, {"user_id": None}, {"userId": "someone"}, {"user_id": "a\x00b"}],
    ids=["no-detail", "empty", "blank", "number", "null", "other-field", "nul"],
)
def test_a_malformed_user_deleted_fails_the_invocation_and_is_counted(consumer, capsys, detail):
    event = load_event("user_deleted")
    event["detail"] = detail
    with pytest.raises(user_deleted.MalformedUserDeleted):
        consumer(event)
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(
        entry.get("UserDeletedRejected") == [1.0] or entry.get("UserDeletedRejected") == 1.0 for entry in metrics
    )


def test_a_well_formed_user_deleted_is_not_counted_as_rejected(consumer, capsys):
    consumer(user_deleted_event(f"never-{uuid.uuid4().hex[:10]}"))
    out = capsys.readouterr().out
    assert "UserDeletedRejected" not in out and "DeletedUsersErased" in out
