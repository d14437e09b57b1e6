"""No token, signature or database password in any log line or error body, over a full run of the local app."""

from __future__ import annotations

from psycopg2.extensions import make_dsn
from requests import Session

from tests.helpers import App

PASSWORD = "Sup3r-S3cret-Passw0rd"


def test_tokens_signatures_and_the_database_password_never_reach_logs_or_bodies(
    tmp_path, clean_env, database_url, user_profile
):
    # Given: a database URL with a password (the test server trusts loopback, so any password connects).
    app = App(
        tmp_path,
        {**clean_env, "DATABASE_URL": make_dsn(database_url, password=PASSWORD)},
        "--user_svc_base_url",
        user_profile.base_url,
    )
    user_profile.known.add("dev-user-1")
    good = app.token_from_banner()
    expired = app.mint("--ttl", "-300")
    wrong_scope = app.mint("--scope", "read:progress")
    forged = good[:-8] + ("AAAAAAAA" if not good.endswith("AAAAAAAA") else "BBBBBBBB")
    session = Session()
    bodies = []
    try:
        url = app.url
        for token in (good, expired, wrong_scope, forged, "garbage", good + "x" * 9000):
            headers = {"Authorization": f"Bearer {token}"}
            bodies.append(
                session.post(
                    f"{url}/api/progress/log",
                    headers=headers,
                    timeout=10,
                    json={"user_id": "dev-user-1", "date": "2026-11-01", "weight_kg": 80.5},
                ).text
            )
            bodies.append(session.get(f"{url}/api/progress/dev-user-1", headers=headers, timeout=10).text)
            bodies.append(session.put(f"{url}/api/progress/log/abc", headers=headers, timeout=10, data=b"{").text)
        user_profile.mode = "error"
        bodies.append(
            session.post(
                f"{url}/api/progress/log",
                headers={"Authorization": f"Bearer {good}"},
                timeout=10,
                json={"user_id": "dev-user-1", "date": "2026-11-01", "weight_kg": 80.5},
            ).text
        )
    finally:
        user_profile.mode = "ok"
        output = app.stop()
    assert "Token accepted" in output and "Token rejected" in output  # the run did log, and about tokens
    signatures = {token.split(".")[2] for token in (good, expired, wrong_scope, forged) if token.count(".") == 2}
    banner_free_output = output.replace(app.banner, "")  # the banner shows a token on purpose, to the developer
    for secret in [PASSWORD, good, expired, wrong_scope, forged, *signatures]:
        assert secret not in banner_free_output
        assert all(secret not in body for body in bodies)
