"""In AWS the database URL comes from Secrets Manager through Lambda's Parameters and Secrets extension over local HTTP
(a real stub of the extension on loopback here; the database itself is real), without boto3 or requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localdev.stubs import SecretsExtensionStub
from progress_tracking import config, db
from progress_tracking import database_url as url_source
from progress_tracking.database_url import forget_secret
from progress_tracking.errors import DatabaseUnavailable

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:progress-db-AbCdEf"
TOKEN = "session-token-of-this-function"


def one(cursor) -> int:
    cursor.execute("SELECT 1")
    return cursor.fetchone()[0]


@pytest.fixture
def extension(monkeypatch, service_env):
    """The extension on loopback, the functions pointed at it, and no DATABASE_URL: the secret is the only way in."""
    with SecretsExtensionStub(TOKEN) as stub:
        monkeypatch.delenv("DATABASE_URL")
        monkeypatch.setenv("DATABASE_SECRET_ARN", ARN)
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(stub.port))
        monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
        config.get_settings.cache_clear()
        db.get_database.cache_clear()
        forget_secret()
        yield stub
        db.get_database().close()
        forget_secret()
        config.get_settings.cache_clear()
        db.get_database.cache_clear()


@pytest.mark.parametrize("as_json", [False, True])
def test_the_url_is_read_through_the_extension_once_and_cached(extension, database_url, as_json):
    extension.secrets[ARN] = json.dumps({"url": database_url}) if as_json else database_url
    database = db.get_database()
    assert database.run(one) == 1
    database.close()  # a new connection needs the URL again: it must come from the cache, not the extension
    del extension.secrets[ARN]
    assert database.run(one) == 1
    assert extension.served == [ARN] and extension.refused == []


def test_the_cached_url_is_read_again_once_it_is_older_than_max_age(extension, database_url, monkeypatch):
    extension.secrets[ARN] = database_url
    monkeypatch.setattr(url_source, "SECRET_MAX_AGE_SECONDS", 0)
    database = db.get_database()
    assert database.run(one) == 1
    database.close()
    assert database.run(one) == 1
    assert extension.served == [ARN, ARN]


def test_without_the_session_token_the_extension_refuses_and_the_database_is_unavailable(
    extension, database_url, monkeypatch
):
    extension.secrets[ARN] = database_url
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    with pytest.raises(DatabaseUnavailable):
        db.get_database().run(one)
    assert extension.refused == [ARN] and extension.served == []
    # Positive control: the same request with the token is served.
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    assert db.get_database().run(one) == 1
    assert extension.served == [ARN]


def test_a_missing_secret_or_no_extension_is_database_unavailable(extension, monkeypatch):
    with pytest.raises(DatabaseUnavailable):
        db.get_database().run(one)
    assert extension.served == [ARN]
    port = extension.port
    extension.stop()
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(port))
    with pytest.raises(DatabaseUnavailable):
        db.get_database().run(one)


def test_a_failed_read_is_not_cached(extension, database_url):
    with pytest.raises(DatabaseUnavailable):
        db.get_database().run(one)
    extension.secrets[ARN] = database_url
    assert db.get_database().run(one) == 1
    assert extension.served == [ARN, ARN]


# A fresh interpreter imports a handler as Lambda does, invokes it once on the secret path and lists what got loaded.
PROBE = """
import json, sys
sys.modules["OpenSSL"] = None  # the Lambda runtime has no pyOpenSSL (this environment has it, for moto)
sys.path[:0] = ["functions/{function}", "layers/progress_tracking", "."]
from pathlib import Path
from localdev.lambda_context import LocalLambdaContext
import app
event = json.loads(Path("events/{function}.json").read_text())
response = app.lambda_handler(event, LocalLambdaContext("probe"))
heavy = ("boto3", "botocore.session", "botocore.client", "requests", "urllib3", "progress_tracking.user_service")
print(json.dumps({{"status": response["statusCode"], "loaded": [m for m in heavy if m in sys.modules]}}))
"""


def first_invocation(function: str, env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(function=function)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_secret_path_loads_neither_the_aws_sdk_nor_requests(database_url):
    with SecretsExtensionStub(TOKEN, {ARN: database_url}) as stub:
        env = {
            **os.environ,
            "DATABASE_URL": "",
            "DATABASE_SECRET_ARN": ARN,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(stub.port),
            "AWS_SESSION_TOKEN": TOKEN,
            "POWERTOOLS_METRICS_NAMESPACE": "ProgressTracking",
        }
        assert first_invocation("get_summary", env) == {"status": 200, "loaded": []}
        assert stub.served == [ARN]
        # Positive control: the probe sees what a function loads: the one that calls the User Profile service loads its
        # client (which itself uses the standard library's http.client, not requests).
        env["USER_SVC_BASE_URL"] = "http://127.0.0.1:9/api/users"  # nothing listens: a 503, after the client tried
        assert first_invocation("log_progress", env) == {"status": 503, "loaded": ["progress_tracking.user_service"]}
