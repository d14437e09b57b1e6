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
