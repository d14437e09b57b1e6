"""Authorization rules: scopes, ownership, machine clients and admins."""

from __future__ import annotations

import pytest

from progress_tracking import authz
from progress_tracking.authz import Identity
from progress_tracking.errors import Forbidden, LogNotFound, MissingScope


def person(user_id: str, *scopes: str) -> Identity:
    return Identity(principal=user_id, scopes=frozenset(scopes), user_id=user_id, is_client=False)


MACHINE = Identity(principal="svc@clients", scopes=frozenset({"read:progress"}), user_id=None, is_client=True)


def test_the_context_round_trips_through_the_authorizer_strings():
    identity = Identity(principal="auth0|a", scopes=frozenset({"b", "a"}), user_id="a", is_client=False)
    assert authz.caller_from_context({**identity.as_context(), "principalId": "auth0|a"}) == identity
    assert authz.caller_from_context(MACHINE.as_context()) == MACHINE


def test_a_request_without_an_authorizer_context_is_refused():
    with pytest.raises(MissingScope):
        authz.caller_from_context(None)


def test_scopes_are_required_exactly():
    authz.require_scope(person("a", "read:progress"), "read:progress")
    with pytest.raises(MissingScope):
        authz.require_scope(person("a", "read:progress"), "write:progress")


def test_end_users_act_only_for_themselves_and_others_logs_look_missing():
    authz.ensure_may_act_for(person("a"), "a")
    with pytest.raises(Forbidden):
        authz.ensure_may_act_for(person("a"), "b")
    with pytest.raises(LogNotFound):
        authz.ensure_may_see_log(person("a"), "b")


def test_machine_clients_and_admins_act_for_anyone():
    authz.ensure_may_act_for(MACHINE, "anyone")
    authz.ensure_may_act_for(person("a", "admin:progress"), "b")
    authz.ensure_may_see_log(MACHINE, "anyone")


def test_an_end_user_token_without_a_user_id_may_act_for_nobody():
    nobody = Identity(principal="auth0|x", scopes=frozenset({"read:progress"}), user_id=None, is_client=False)
    with pytest.raises(Forbidden):
        authz.ensure_may_act_for(nobody, "")


@pytest.mark.parametrize("separator", ["\t", "\n", "\u2003", "\u00a0", "\u3000"])
def test_the_context_splits_scopes_on_spaces_alone_and_drops_a_value_that_is_not_one_word(separator):
    # An authorizer passes scopes separated by one space; a value with other whitespace inside is no scope at all.
    context = {"principal": "auth0|a", "scope": f"write:progress read:progress{separator}admin:progress"}
    assert authz.caller_from_context(context).scopes == {"write:progress"}
    # The control: separated by a space, the same words are two scopes.
    assert authz.caller_from_context({**context, "scope": "write:progress read:progress admin:progress"}).scopes == {
        "write:progress",
        "read:progress",
        "admin:progress",
    }


def test_claims_keep_each_scope_and_permission_one_word_and_drop_the_rest():
    claims = {
        "sub": "auth0|a",
        "scope": "read:progress  write:progress\tadmin:progress",
        "permissions": ["delete:progress", "read:progress admin:progress", "x\u2003admin:progress", 7, ""],
    }
    assert authz.identity_from_claims(claims).scopes == {"read:progress", "delete:progress"}
