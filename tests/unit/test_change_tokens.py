"""The change feed's token: it reads back the place it was issued for, only with its key and for its user, and tells a
stream erased since from the one it was issued in."""

from __future__ import annotations

import pytest

from progress_tracking import change_tokens, paging
from progress_tracking.change_tokens import FeedPlace
from progress_tracking.errors import InvalidChangeToken, ResyncRequired

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
PLACE = FeedPlace(epoch=5210, position=5390)


def verified(token: str, user: str = "alice", key: bytes = KEY) -> FeedPlace:
    place, signature = change_tokens.read(token)
    change_tokens.verify(key, user, place, signature)
    return place


def test_a_token_reads_back_the_place_it_was_issued_for():
    assert verified(change_tokens.issue(KEY, "alice", PLACE)) == PLACE
    assert verified(change_tokens.issue(KEY, "alice", change_tokens.BEGINNING)) == change_tokens.BEGINNING


def test_a_token_of_another_user_or_key_does_not_verify():
    token = change_tokens.issue(KEY, "alice", PLACE)
    assert verified(token) == PLACE  # the control
    with pytest.raises(InvalidChangeToken):
        verified(token, user="bob")
    with pytest.raises(InvalidChangeToken):
        verified(token, key=OTHER_KEY)


def test_a_token_naming_another_place_under_the_same_signature_does_not_verify():
    signature = change_tokens.issue(KEY, "alice", PLACE).partition(".")[2]
    moved = f"{paging.encode_position([PLACE.epoch, PLACE.position + 1])}.{signature}"
    with pytest.raises(InvalidChangeToken):
        verified(moved)


@pytest.mark.parametrize(
    "body",
    [[1], [1, 2, 3], ["1", 2], [1.0, 2], [True, 2], [-1, 2], [1, 2**63], None, {"epoch": 1, "position": 2}],
)
def test_a_token_whose_body_is_not_two_positions_is_refused_before_any_key_is_needed(body):
    with pytest.raises(InvalidChangeToken):
        change_tokens.read(f"{paging.encode_position(body)}.{'A' * 43}")


@pytest.mark.parametrize(
    "token", ["", ".", "no-dot-at-all", "!!!.abc", "WzEsMl0", "WzEsMl0.short", "WzEsMl0." + "\udcff" * 43]
)
def test_a_token_that_is_not_one_at_all_is_refused(token):
    with pytest.raises(InvalidChangeToken):
        change_tokens.read(token)


def test_a_token_of_a_stream_erased_since_asks_for_a_resync():
    change_tokens.ensure_same_stream(PLACE, PLACE.epoch)  # the same stream: the control
    with pytest.raises(ResyncRequired):
        change_tokens.ensure_same_stream(PLACE, 9000)  # a stream begun after an erasure
    with pytest.raises(ResyncRequired):
        change_tokens.ensure_same_stream(PLACE, None)  # erased, nothing written since
    # Issued while the user had nothing: whatever stream they have now is new to the client.
    change_tokens.ensure_same_stream(change_tokens.BEGINNING, 9000)
    change_tokens.ensure_same_stream(change_tokens.BEGINNING, None)
