"""The User Profile client against a real HTTP server on loopback."""

from __future__ import annotations

import time

import pytest

from localdev.stubs import UserProfileStub
from progress_tracking.errors import UserServiceUnavailable
from progress_tracking.user_service import UserServiceClient


@pytest.fixture
def profile():
    with UserProfileStub(known={"alice", "auth0|bob", "c/d e"}) as server:
        yield server


def test_known_and_unknown_users(profile):
    client = UserServiceClient(profile.base_url)
    assert client.user_exists("alice") is True
    assert client.user_exists("mallory") is False


def test_user_ids_are_escaped_into_one_path_segment(profile):
    client = UserServiceClient(profile.base_url)
    assert client.user_exists("c/d e") is True
    assert client.user_exists("auth0|bob") is True
    assert profile.requests[0] == "/api/users/validate/c%2Fd%20e"


@pytest.mark.parametrize("mode", ["error", "garbage"])
def test_errors_and_answers_outside_the_contract_are_unavailable(profile, mode):
    profile.mode = mode
    with pytest.raises(UserServiceUnavailable):
        UserServiceClient(profile.base_url).user_exists("alice")


def test_a_slow_service_is_given_up_on_within_three_seconds(profile):
    profile.mode, profile.delay = "slow", 6
    started = time.monotonic()
    with pytest.raises(UserServiceUnavailable):
        UserServiceClient(profile.base_url).user_exists("alice")
    assert time.monotonic() - started < 3.5


def test_an_unreachable_service_is_unavailable():
    with pytest.raises(UserServiceUnavailable):
        UserServiceClient("http://127.0.0.1:9/api/users").user_exists("alice")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_confirmed_user_is_remembered_for_the_configured_time(profile):
    clock = FakeClock()
    client = UserServiceClient(profile.base_url, cache_seconds=60, clock=clock)
    assert client.user_exists("alice") is True
    clock.now += 59
    assert client.user_exists("alice") is True
    assert len(profile.requests) == 1  # the second answer came from memory
    clock.now += 2
    assert client.user_exists("alice") is True
    assert len(profile.requests) == 2  # expired: asked again


def test_without_a_cache_time_every_check_asks_the_service(profile):
    client = UserServiceClient(profile.base_url, cache_seconds=0)
    assert client.user_exists("alice") is True
    assert client.user_exists("alice") is True
    assert len(profile.requests) == 2


def test_an_unknown_user_is_never_remembered(profile):
    client = UserServiceClient(profile.base_url, cache_seconds=60, clock=FakeClock())
    assert client.user_exists("mallory") is False
    profile.known.add("mallory")  # created in the User Profile service a moment later
    assert client.user_exists("mallory") is True
    assert len(profile.requests) == 2


def test_a_failed_answer_is_never_remembered(profile):
    client = UserServiceClient(profile.base_url, cache_seconds=60, clock=FakeClock())
    profile.mode = "error"
    with pytest.raises(UserServiceUnavailable):
        client.user_exists("alice")
    profile.mode = "ok"
    assert client.user_exists("alice") is True
    profile.mode = "error"
    assert client.user_exists("alice") is True  # confirmed a moment ago: the outage does not matter
    assert len(profile.requests) == 2


@pytest.fixture
def kept_alive_profile():
    with UserProfileStub(known={"alice"}, keep_alive=True) as server:
        yield server


def test_a_kept_alive_connection_serves_the_next_checks(kept_alive_profile):
    client = UserServiceClient(kept_alive_profile.base_url)
    assert [client.user_exists(user) for user in ("alice", "mallory", "alice")] == [True, False, True]
    assert len(kept_alive_profile.requests) == 3 and len(set(kept_alive_profile.peers)) == 1


def test_a_connection_the_service_closed_while_idle_is_replaced_without_a_failure(kept_alive_profile):
    # Given: a service that closes each connection after answering, without saying so (its keep-alive timeout).
    kept_alive_profile.drop_idle = True
    client = UserServiceClient(kept_alive_profile.base_url)
    # Then: each check still gets its answer, on a new connection each (the control: one connection above).
    assert [client.user_exists(user) for user in ("alice", "mallory", "alice")] == [True, False, True]
    assert len(kept_alive_profile.requests) == 3 and len(set(kept_alive_profile.peers)) == 3


def test_a_failure_on_a_kept_alive_connection_is_not_retried_and_the_next_check_reconnects(kept_alive_profile):
    client = UserServiceClient(kept_alive_profile.base_url)
    assert client.user_exists("alice") is True
    kept_alive_profile.mode = "error"
    with pytest.raises(UserServiceUnavailable):
        client.user_exists("alice")
    kept_alive_profile.mode = "ok"
    assert client.user_exists("alice") is True
    assert len(kept_alive_profile.requests) == 3  # the 500 was asked once, not again


def test_an_https_url_to_a_plain_http_service_is_unavailable_and_not_an_error(profile):
    # The control: the same service over http answers (test_known_and_unknown_users).
    with pytest.raises(UserServiceUnavailable):
        UserServiceClient(profile.base_url.replace("http://", "https://")).user_exists("alice")


@pytest.mark.parametrize("base_url", ["ftp://127.0.0.1/api/users", "/api/users"])
def test_a_base_url_that_is_not_http_is_unavailable(base_url):
    with pytest.raises(UserServiceUnavailable):
        UserServiceClient(base_url).user_exists("alice")
