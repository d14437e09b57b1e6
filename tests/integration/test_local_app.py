"""`python progress_tracking_app.py` as a newcomer runs it: a real process, real HTTP, the README's curl flow."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import requests

from progress_tracking_app import answers
from tests.helpers import ROOT, App


def test_the_readme_flow_works_against_the_app_with_nothing_else_configured(tmp_path, clean_env, database_url):
    from progress_tracking.config import DEFAULT_USER_SVC_BASE_URL

    # Nothing else configured means no User Profile service either: the app must start its stand-in (with one on
    # port 5001, dev-user-1 would not be known to it and the flow below could not work).
    assert not answers(DEFAULT_USER_SVC_BASE_URL), f"something answers at {DEFAULT_USER_SVC_BASE_URL}; stop it"
    app = App(tmp_path, {**clean_env, "DATABASE_URL": database_url})
    try:
        assert "development issuer" in app.banner
        assert f"NONE ANSWERS at {DEFAULT_USER_SVC_BASE_URL}, so an in-process STAND-IN" in app.banner
        headers = {"Authorization": f"Bearer {app.token_from_banner()}"}
        body = {
            "user_id": "dev-user-1",
            "date": "2026-11-01",
            "weight_kg": 80.5,
            "workout_done": "running",
            "calories_burned": 420,
        }
        created = requests.post(f"{app.url}/api/progress/log", json=body, headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        log_id = created.json()["id"]
        listed = requests.get(f"{app.url}/api/progress/dev-user-1", headers=headers, timeout=10).json()
        assert log_id in [entry["log_id"] for entry in listed["progress_logs"]]
        summary = requests.get(f"{app.url}/api/progress/summary/dev-user-1", headers=headers, timeout=10).json()
        assert summary["log_count"] >= 1
        updated = requests.put(
            f"{app.url}/api/progress/log/{log_id}", json={"notes": "easy"}, headers=headers, timeout=10
        )
        assert updated.json()["updated_log"]["notes"] == "easy"
        assert requests.delete(f"{app.url}/api/progress/log/{log_id}", headers=headers, timeout=10).status_code == 200
        wiped = requests.delete(f"{app.url}/api/progress/user/dev-user-1/logs", headers=headers, timeout=10)
        assert wiped.status_code == 200

        other = {"Authorization": f"Bearer {app.mint('--user-id', 'dev-user-2', '--scope', 'read:progress')}"}
        assert requests.get(f"{app.url}/api/progress/dev-user-2", headers=other, timeout=10).status_code == 200
        assert requests.get(f"{app.url}/api/progress/dev-user-1", headers=other, timeout=10).status_code == 403
        machine = {"Authorization": f"Bearer {app.mint('--client')}"}
        assert requests.get(f"{app.url}/api/progress/anyone", headers=machine, timeout=10).status_code == 200
        assert requests.get(f"{app.url}/api/progress/dev-user-1", timeout=10).status_code == 401
    finally:
        assert "Stopped." in app.stop()


def test_the_user_service_flag_is_used(tmp_path, clean_env, database_url, user_profile):
    app = App(tmp_path, {**clean_env, "DATABASE_URL": database_url}, "--user_svc_base_url", user_profile.base_url)
    try:
        assert f"User Profile service: {user_profile.base_url}" in app.banner
        headers = {"Authorization": f"Bearer {app.token_from_banner()}"}
        body = {"user_id": "dev-user-1", "date": "2026-11-01", "weight_kg": 80.5}
        user_profile.known.discard("dev-user-1")
        response = requests.post(f"{app.url}/api/progress/log", json=body, headers=headers, timeout=10)
        assert response.status_code == 400 and response.json()["code"] == "unknown_user"
    finally:
        app.stop()


def test_with_no_database_url_an_embedded_postgres_keeps_data_between_runs(tmp_path, clean_env):
    first = App(tmp_path, clean_env)
    try:
        assert "embedded Postgres" in first.banner
        headers = {"Authorization": f"Bearer {first.token_from_banner()}"}
        body = {"user_id": "dev-user-1", "date": "2026-11-01", "weight_kg": 80.5}
        assert requests.post(f"{first.url}/api/progress/log", json=body, headers=headers, timeout=10).status_code == 201
    finally:
        first.stop()
    second = App(tmp_path, clean_env)
    try:
        headers = {"Authorization": f"Bearer {second.token_from_banner()}"}
        listed = requests.get(f"{second.url}/api/progress/dev-user-1", headers=headers, timeout=10).json()
        assert [entry["weight_kg"] for entry in listed["progress_logs"]] == [80.5]
    finally:
        second.stop()


def run_command(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "progress_tracking_app.py", "--data-dir", str(tmp_path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_operations_commands_migrate_rebuild_and_recompute(tmp_path, clean_env, database_url, database, new_user):
    from datetime import date

    from progress_tracking.store import appending, summary_facts

    env = {**clean_env, "DATABASE_URL": database_url}
    migrated = run_command(env, tmp_path, "migrate")
    assert migrated.returncode == 0 and "the schema is current" in migrated.stdout

    user = new_user()
    change = appending.Change(actor="t", request_id=None)
    created = database.run(lambda c: appending.log_new(c, user, {"date": date(2026, 1, 1), "weight_kg": 60.0}, change))
    assert run_command(env, tmp_path, "rebuild").returncode == 0

    def corrupt(cursor):
        cursor.execute("UPDATE progress_logs SET notes = 'drift' WHERE log_id = %s", (created.log_id,))

    database.run(corrupt)
    drifted = run_command(env, tmp_path, "rebuild")
    assert drifted.returncode == 1 and f"different: [{created.log_id}]" in drifted.stdout
    # While a recompute run holds its lock, --apply changes nothing and says why (no traceback).
    import psycopg2

    from progress_tracking import summaries

    running = psycopg2.connect(database_url)
    running.cursor().execute("SELECT pg_advisory_lock(%s)", (summaries.RECOMPUTE_LOCK_KEY,))
    try:
        busy = run_command(env, tmp_path, "rebuild", "--apply")
    finally:
        running.close()
    assert busy.returncode == 1 and "held the tables past the time limit; nothing was changed" in busy.stdout
    assert "Traceback" not in busy.stderr
    assert run_command(env, tmp_path, "rebuild").returncode == 1  # still drifted
    # The control: with no run in progress, --apply replaces the projection.
    assert run_command(env, tmp_path, "rebuild", "--apply").returncode == 0
    assert run_command(env, tmp_path, "rebuild").returncode == 0

    recomputed = run_command(env, tmp_path, "recompute")
    assert recomputed.returncode == 0 and "'finished': True" in recomputed.stdout
    assert database.run(lambda c: summary_facts.stored_summary(c, user)) is not None


def test_the_app_publishes_domain_events_to_its_local_sink_and_delivers_user_deleted(
    tmp_path, clean_env, database_url, user_profile, new_user
):
    env = {**clean_env, "DATABASE_URL": database_url}
    app = App(tmp_path, env, "--user_svc_base_url", user_profile.base_url)
    user_id = new_user("local-events")
    try:
        assert f"{app.url}/local/events" in app.banner
        token = app.mint("--user-id", user_id)
        body = {"user_id": user_id, "date": "2026-11-01", "weight_kg": 80.5}
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.post(f"{app.url}/api/progress/log", json=body, headers=headers, timeout=10).status_code == 201

        def published() -> list[str]:  # the token's default scopes include admin:progress, which the listing needs
            events = requests.get(f"{app.url}/local/events", headers=headers, timeout=10).json()["events"]
            return [event["detail-type"] for event in events if event["detail"]["user_id"] == user_id]

        def wait_for(expected: list[str]) -> None:
            deadline = time.monotonic() + 60  # the relay polls once a second (and waits for the cluster's horizon)
            while published() != expected:
                assert time.monotonic() < deadline, published()
                time.sleep(0.2)

        wait_for(["ProgressLogged"])  # (an erasure before that would take the unpublished event with it)
        # Delivered as EventBridge would deliver the User Profile service's event: erased once, then a no-op.
        first = run_command(env, tmp_path, "user-deleted", user_id)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout.splitlines()[-1])["erased"]["events"] == 1
        again = run_command(env, tmp_path, "user-deleted", user_id)
        assert again.returncode == 0 and not any(json.loads(again.stdout.splitlines()[-1])["erased"].values())

        wait_for(["ProgressLogged", "UserProgressErased"])
    finally:
        output = app.stop()
    assert 'Domain event ProgressLogged {"event_id"' in output and "Domain event UserProgressErased" in output


def warnings_in(printed: str) -> list[str]:
    """The lines of the app's output (after its banner) that warn: a log line at WARNING or above, and any line that is
    neither a JSON line (logs, metrics) nor one the app prints on purpose: a Python warning, a library's bare message, a
    traceback."""
    found = []
    for line in printed.splitlines():
        if line.startswith(("Domain event ", "Stopped.")):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            found.append(line)
            continue
        if not isinstance(record, dict) or str(record.get("level", "INFO")).upper() not in ("DEBUG", "INFO"):
            found.append(line)
    return found


def a_session(app: App) -> None:
    """What a newcomer does: log, set goals, then read everything the API and the app serve."""
    headers = {"Authorization": f"Bearer {app.token_from_banner()}"}
    body = {"user_id": "dev-user-1", "date": "2026-11-01", "weight_kg": 80.5, "workout_done": "run"}
    created = requests.post(f"{app.url}/api/progress/log", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    goals = {"target_weight_kg": 76, "weekly_workouts": 3}
    assert requests.put(f"{app.url}/api/progress/goals/dev-user-1", json=goals, headers=headers, timeout=10).ok
    reads = [
        "/api/progress/dev-user-1",
        "/api/progress/summary/dev-user-1",
        "/api/progress/summary/dev-user-1?from=2026-11-01&to=2026-11-30",
        "/api/progress/series/dev-user-1?bucket=week",
        "/api/progress/goals/dev-user-1",
        "/api/progress/goals/dev-user-1/history",
        f"/api/progress/log/{created.json()['id']}/history",
        "/local/events",
        "/",
        "/docs",
        "/openapi.json",
    ]
    for path in reads * 2:  # twice: a warning Python shows once per place would show on the first
        response = requests.get(f"{app.url}{path}", headers=headers, timeout=10)
        assert response.status_code == 200, (path, response.text)


def test_a_session_of_a_newcomer_prints_no_warning(tmp_path, clean_env, database_url):
    # As `make run` starts: the embedded Postgres. Its data outside pytest's folder, which another pytest run of the
    # machine's user makes private (0700) again while the embedded server's own user reads it.
    with tempfile.TemporaryDirectory(prefix="newcomer-") as data_dir:
        app = App(Path(data_dir), clean_env)
        try:
            a_session(app)
        finally:
            printed = app.stop()
    startup = app.banner.split("Progress Tracking Service on", 1)[0]
    assert "Applied migrations" in startup and warnings_in(startup) == []
    assert '"Requests"' in printed  # the reads were printed (their metrics), and nothing among them warns:
    assert warnings_in(printed) == []

    # The control: a read after the database closed the app's idle connections warns that it retries, and is seen
    app = App(tmp_path / "external", {**clean_env, "DATABASE_URL": database_url})
    try:
        a_session(app)
        with psycopg2.connect(database_url) as admin, admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        headers = {"Authorization": f"Bearer {app.token_from_banner()}"}
        assert requests.get(f"{app.url}/api/progress/dev-user-1", headers=headers, timeout=10).status_code == 200
    finally:
        printed = app.stop()
    assert any("closed while idle" in line for line in warnings_in(printed)), printed[-2000:]


def test_a_port_in_use_is_one_line_naming_the_port_flag_and_starts_nothing(tmp_path, clean_env, database_url):
    with socket.socket() as held:  # another app (a second `make run`) on the port
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        refused = run_command(clean_env, tmp_path, "--port", str(port))
        assert refused.returncode == 1
        assert refused.stdout == ""
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert f"127.0.0.1:{port}" in refused.stderr and "--port" in refused.stderr
        assert not (tmp_path / "pgdata").exists()  # refused before the embedded database was started
    # The control: the same port, once free, is served
    app = App(tmp_path, {**clean_env, "DATABASE_URL": database_url}, port=port)
    try:
        assert app.url == f"http://127.0.0.1:{port}"
        assert requests.get(f"{app.url}/openapi.json", timeout=10).status_code == 200
    finally:
        app.stop()


def test_a_malformed_user_deleted_fails_the_command(tmp_path, clean_env, database_url):
    failed = run_command({**clean_env, "DATABASE_URL": database_url}, tmp_path, "user-deleted", "")
    assert failed.returncode == 1 and "MalformedUserDeleted" in failed.stderr


def test_rebuild_compares_a_projection_too_large_to_read_within_a_requests_time_limit(
    tmp_path, clean_env, postgres_server_url
):
    # Given 300,000 logs: comparing them with the events' fold takes longer than a request's statement limit (2 s).
    from bench.scale import build_dataset
    from localdev.databases import scratch_database
    from progress_tracking.db import Database
    from progress_tracking.migrations import migrate

    with scratch_database(postgres_server_url) as url:
        builder = Database(url, statement_timeout_ms=600_000)
        migrate(builder)
        assert builder.run(lambda cursor: build_dataset(cursor, 3000, 100, {})) == 300_000
        builder.close()
        # Then the operator's command compares them all (it ran with the API's limit and was cancelled).
        checked = run_command({**clean_env, "DATABASE_URL": url}, tmp_path, "rebuild")
        assert checked.returncode == 0, checked.stderr[-2000:]
        assert "The projection equals the events' fold." in checked.stdout
