"""The Postman collection in postman/ run by newman (installed into the project by `npm ci`) against the local app as
a real process: every endpoint of the template, each with its error case, every assertion passing — and, as a
control, failing when the token lacks the scopes."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import API, App

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "postman" / "progress-tracking.postman_collection.json"
ENVIRONMENT = ROOT / "postman" / "local.postman_environment.json"
NEWMAN = ROOT / "node_modules" / ".bin" / "newman"
ALL_SCOPES = "read:progress write:progress delete:progress admin:progress"


def requests_of(collection: dict) -> list[dict]:
    return [item for folder in collection["item"] for item in folder["item"]]


@pytest.fixture(scope="module")
def app(tmp_path_factory, clean_env, database_url) -> Iterator[App]:
    started = App(tmp_path_factory.mktemp("postman-app"), {**clean_env, "DATABASE_URL": database_url})
    try:
        yield started
    finally:
        started.stop()


def newman(app: App, token: str, user_id: str, report: Path) -> subprocess.CompletedProcess:
    assert NEWMAN.exists(), "newman is missing: `npm ci` installs it (make test does)"
    command = [str(NEWMAN), "run", str(COLLECTION), "-e", str(ENVIRONMENT), "--env-var", f"baseUrl={app.url}"]
    command += ["--env-var", f"userId={user_id}", "--env-var", f"token={token}", "--reporters", "cli,json"]
    command += ["--reporter-json-export", str(report), "--disable-unicode", "--color", "off"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_collection_covers_every_endpoint_with_an_error_case_each():
    collection = json.loads(COLLECTION.read_text())
    covered: dict[str, set[int]] = {}
    for item in requests_of(collection):
        request = item["request"]
        path = "/" + "/".join(request["url"]["path"]).replace("{{userId}}", "u").replace("{{logId}}", "1")
        path = path.replace("{{secondLogId}}", "2")
        resolved = API.resolve(request["method"], path.strip("/").split("/"))
        assert resolved is not None, (item["name"], request["method"], path)
        tests = "\n".join(event["script"]["exec"][0] for event in item["event"] if event["listen"] == "test")
        status = int(tests.split("to.have.status(")[1].split(")")[0])
        covered.setdefault(f"{request['method']} {resolved[0].path}", set()).add(status)
    assert set(covered) == {f"{route.method} {route.path}" for route in API.routes}
    for endpoint, statuses in covered.items():
        assert any(s < 300 for s in statuses) and any(s >= 400 for s in statuses), endpoint
    # The original service's clients send numbers as strings: the first request does too.
    first = json.loads(requests_of(collection)[0]["request"]["body"]["raw"])
    assert first["weight_kg"] == "71" and first["calories_burned"] == "300"


def test_newman_runs_the_collection_against_the_local_app(app, tmp_path):
    user_id = f"postman-{uuid.uuid4().hex[:8]}"
    ran = newman(app, app.mint("--user-id", user_id, "--scope", ALL_SCOPES), user_id, tmp_path / "report.json")
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    stats = json.loads((tmp_path / "report.json").read_text())["run"]["stats"]
    requests_in_collection = len(requests_of(json.loads(COLLECTION.read_text())))
    assert stats["requests"] == {"total": requests_in_collection, "pending": 0, "failed": 0}
    assert stats["assertions"]["failed"] == 0
    assert stats["assertions"]["total"] >= 3 * requests_in_collection  # JSON + status + body, each request
    print(f"newman: {stats['requests']['total']} requests, {stats['assertions']['total']} assertions passed")


def test_newman_fails_when_the_token_lacks_the_scopes(app, tmp_path):
    user_id = f"postman-{uuid.uuid4().hex[:8]}"
    ran = newman(app, app.mint("--user-id", user_id, "--scope", "read:progress"), user_id, tmp_path / "report.json")
    assert ran.returncode != 0
    stats = json.loads((tmp_path / "report.json").read_text())["run"]["stats"]
    assert stats["assertions"]["failed"] > 0
