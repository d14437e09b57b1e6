"""The development issuer's tokens carry the claims the `token` command is asked for."""

from __future__ import annotations

import jwt

from localdev.dev_issuer import SigningKey

KEY = SigningKey.generate(kid="dev-test")


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_an_explicit_subject_wins_over_the_user_id_in_sub():
    claims = claims_of(KEY.access_token(user_id="alice", subject="mallory@clients"))
    assert claims["sub"] == "mallory@clients" and "gty" not in claims
    assert claims_of(KEY.access_token(user_id="alice"))["sub"] == "alice"  # the positive control: no subject given


def test_with_a_custom_user_id_claim_the_subject_and_the_id_travel_apart():
    claims = claims_of(KEY.access_token(user_id="alice", subject="auth0|123", user_id_claim="https://x.test/uid"))
    assert (claims["sub"], claims["https://x.test/uid"]) == ("auth0|123", "alice")
    assert claims_of(KEY.access_token(user_id="alice", user_id_claim="https://x.test/uid"))["sub"] == "alice"


def test_a_machine_client_token_carries_the_client_credentials_grant():
    claims = claims_of(KEY.access_token(client=True))
    assert claims["gty"] == "client-credentials" and claims["sub"].endswith("@clients")
