"""In AWS the database URL comes from Secrets Manager (mocked with moto; the database itself is real)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from progress_tracking import config, db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager")


@pytest.fixture
def from_secret(monkeypatch, service_env):
    monkeypatch.delenv("DATABASE_URL")
    config.get_settings.cache_clear()
    db.get_database.cache_clear()
    yield
    db.get_database().close()
    config.get_settings.cache_clear()
    db.get_database.cache_clear()


@pytest.mark.parametrize("as_json", [False, True])
def test_the_url_is_read_from_the_secret_once_and_cached(aws, from_secret, monkeypatch, database_url, as_json):
    value = json.dumps({"url": database_url}) if as_json else database_url
    arn = aws.create_secret(Name=f"progress-db-{as_json}", SecretString=value)["ARN"]
    monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
    config.get_settings.cache_clear()

    def one(cursor):
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]

    database = db.get_database()
    assert database.run(one) == 1
    database.close()  # a new connection needs the URL again: it must come from the cache, not Secrets Manager
    aws.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert database.run(one) == 1


def test_a_missing_secret_is_database_unavailable(aws, from_secret, monkeypatch):
    from progress_tracking.errors import DatabaseUnavailable

    monkeypatch.setenv("DATABASE_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope-AbCdEf")
    config.get_settings.cache_clear()
    with pytest.raises(DatabaseUnavailable):
        db.get_database().run(lambda cursor: cursor.execute("SELECT 1"))


def test_boto3_is_not_imported_unless_the_secret_path_is_configured(database_url):
    # A fresh interpreter: import every handler but the event relay's (the one that uses boto3), invoke one, then look
    # at what got loaded.
    script = """
import json, sys
sys.path[:0] = ["layers/progress_tracking", "."]
from localdev.template import load_api
from localdev.lambda_context import LocalLambdaContext
from pathlib import Path
api = load_api(Path("template.yaml"))
handlers = {name: spec.load() for name, spec in api.functions.items() if name != "PublishEventsFunction"}
event = json.loads(Path("events/get_summary.json").read_text())
response = handlers["GetSummaryFunction"](event, LocalLambdaContext("GetSummaryFunction"))
print(json.dumps({"status": response["statusCode"], "boto3": "boto3" in sys.modules}))
"""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_METRICS_NAMESPACE": "ProgressTracking",
    }
    env.pop("DATABASE_SECRET_ARN", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"status": 200, "boto3": False}, result.stderr[-2000:]
