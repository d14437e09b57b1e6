"""Faults under load: each test injects one fault into the mixed load against the local app (a real process on a
Postgres cluster of its own), ends it, and checks what production needs: nothing acknowledged lost or written twice,
nothing half-written, the projection equal to the events' fold, summaries equal to a recompute, no 5xx but the
documented 503s (each with `code` and Retry-After), and normal answers again within 15 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg2
import pytest

from localdev.dev_issuer import SigningKey
from localdev.load import server_errors, undocumented, verify, wait_until_answering_normally
from tests.helpers.resilience import APP_ROLE, World

pytestmark = pytest.mark.resilience

WARM_SECONDS = 1.0
FAULT_SECONDS = 2.5
AFTER_SECONDS = 1.0
RECOVERY_BOUND_SECONDS = 15.0


def under_load(world: World, fault: str, inject: Callable[[], None], heal: Callable[[], None], *, expect: set[str]):
    """Run the load, inject, hold, heal; then check every invariant and record the fault's row."""
    mark = world.load.ledger.mark()
    world.load.start()
    try:
        time.sleep(WARM_SECONDS)
        inject()
        time.sleep(FAULT_SECONDS)
        heal()
        recover = wait_until_answering_normally(
            world.app.url, world.users[0], world.token(world.users[0]), RECOVERY_BOUND_SECONDS
        )
        time.sleep(AFTER_SECONDS)
    finally:
        world.load.stop()
    outcomes, acks = world.load.ledger.since(mark)
    verdict = verify(world.admin_url, world.load.ledger, world.users)
    fives = server_errors(outcomes)
    world.results.append(
        {
            "fault": fault,
            "requests": len(outcomes),
            "no_answer": sum(1 for o in outcomes if o.status is None),
            "acked": len(acks),
            "lost": len(verdict.lost_writes),
            "recover": recover,
            "5xx": fives,
        }
    )
    assert verdict.ok, verdict
    assert undocumented(outcomes) == [], undocumented(outcomes)[:5]
    assert set(code.split(" ", 1)[1] for code in fives) <= expect, fives
    assert any(o.status is not None and o.status < 300 for o in outcomes)
    return outcomes


def app_backends(admin_url: str) -> None:
    """Ends the app's open connections, as a restart or the pooler does: the app has to connect again."""
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s"
            " AND application_name = 'progress-tracking'",
            (APP_ROLE,),
        )
    admin.close()


def test_the_database_restarting_under_load(world):
    outcomes = under_load(
        world,
        "database restarted (immediate)",
        world.cluster.restart,
        lambda: None,
        expect={"database_unavailable", "database_busy"},
    )
    assert outcomes


def test_the_database_refusing_new_connections_under_load(world):
    hogs: list = []
    stop = threading.Event()

    def fill() -> None:
        # Take every slot a non-superuser may have, again and again as the app's connections are ended.
        while not stop.is_set():
            try:
                hogs.append(psycopg2.connect(world.database_url, connect_timeout=2, application_name="hog"))
            except psycopg2.OperationalError:
                app_backends(world.admin_url)
                time.sleep(0.05)

    filler = threading.Thread(target=fill, daemon=True)

    def inject() -> None:
        filler.start()

    def heal() -> None:
        stop.set()
        filler.join(timeout=10)
        for hog in hogs:
            hog.close()

    outcomes = under_load(
        world, "database refusing (max_connections)", inject, heal, expect={"database_unavailable", "database_busy"}
    )
    assert any(o.code == "database_unavailable" for o in outcomes), "the fault never reached the app"


@pytest.mark.parametrize("mode", ["down", "slow", "error", "garbage"])
def test_the_user_profile_service_failing_under_load(world, mode):
    stub = world.users_service
    port = int(stub.url.rsplit(":", 1)[1])

    def inject() -> None:
        if mode == "down":
            stub.stop()
        else:
            stub.delay = 4.0
            stub.mode = mode

    def heal() -> None:
        if mode == "down":
            from localdev.stubs import UserProfileStub

            replacement = UserProfileStub(known=None, port=port).start()
            world.users_service = replacement
        else:
            stub.mode = "ok"

    outcomes = under_load(
        world,
        f"User Profile {'hanging' if mode == 'slow' else mode}",
        inject,
        heal,
        expect={"user_service_unavailable"},
    )
    assert any(o.code == "user_service_unavailable" for o in outcomes), "the fault never reached the app"


def test_the_app_killed_mid_writes_and_restarted(world):
    def inject() -> None:
        world.app.kill()

    def heal() -> None:
        world.app.start()

    outcomes = under_load(world, "app SIGKILLed mid-writes, restarted", inject, heal, expect=set())
    assert any(o.status is None for o in outcomes), "the kill cut no request off"


def test_the_jwks_endpoint_down_at_a_cold_start(world):
    def inject() -> None:
        world.jwks.up = False
        world.app.kill()
        world.app.start()

    def heal() -> None:
        world.jwks.up = True

    outcomes = under_load(world, "JWKS down at a cold start", inject, heal, expect=set())
    assert any(o.status == 401 for o in outcomes)


def test_the_jwks_endpoint_down_during_a_key_rotation(world):
    new_key = SigningKey.generate(kid="resilience-2")

    def inject() -> None:
        world.jwks.up = False
        world.jwks.document = {"keys": [*world.key.jwks()["keys"], *new_key.jwks()["keys"]]}
        world.token_keys["current"] = new_key  # clients now hold tokens signed by a key the app has not seen

    def heal() -> None:
        world.jwks.up = True

    outcomes = under_load(world, "JWKS down during a key rotation", inject, heal, expect=set())
    assert any(o.status == 401 for o in outcomes)
