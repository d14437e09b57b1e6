"""The change feed's token: where a client's feed stands, opaque, tamper-evident and bound to the user.

It names the stream position of the last change the client has and the user's *epoch*: the first position of their
stream when the token was issued (0 while they had none). Only an erasure changes a stream's first position (events
are never deleted otherwise, and a stream begun after an erasure starts above its tombstone), so a token whose epoch
is no longer the stream's was issued before an erasure. The body is the list cursor's encoding (paging) of
`[epoch, position]`; then `.` and an HMAC-SHA256 over the user id, epoch and position with the database's key
(migration 0020): a token edited, forged, or issued for another user does not verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from progress_tracking import paging
from progress_tracking.errors import InvalidChangeToken, InvalidCursor, ResyncRequired

MAX_POSITION = 2**63 - 1  # stream positions are Postgres bigints
DOMAIN = b"progress-tracking change feed v1"  # a MAC made for anything else never verifies here
SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes of HMAC-SHA256, unpadded base64url


@dataclass(frozen=True)
class FeedPlace:
    epoch: int  # the stream's first position when issued; 0: the user had no stream
    position: int  # the last change the client has; 0: none


BEGINNING = FeedPlace(epoch=0, position=0)


def _signature(key: bytes, user_id: str, place: FeedPlace) -> bytes:
    message = b"\x00".join([DOMAIN, user_id.encode(), str(place.epoch).encode(), str(place.position).encode()])
    return hmac.new(key, message, hashlib.sha256).digest()


def issue(key: bytes, user_id: str, place: FeedPlace) -> str:
    signature = base64.urlsafe_b64encode(_signature(key, user_id, place)).decode().rstrip("=")
    return f"{paging.encode_position([place.epoch, place.position])}.{signature}"


def read(token: str) -> tuple[FeedPlace, str]:
    """The place a token claims and its signature, unverified (the key comes with the page: `verify`)."""
    body, _, signature = token.partition(".")
    try:
        epoch, position = paging.decode_position(body)
    except (InvalidCursor, ValueError, TypeError) as exc:
        raise InvalidChangeToken() from exc
    if not SIGNATURE.fullmatch(signature) or not all(
        type(value) is int and 0 <= value <= MAX_POSITION for value in (epoch, position)
    ):
        raise InvalidChangeToken()
    return FeedPlace(epoch=epoch, position=position), signature


def verify(key: bytes, user_id: str, place: FeedPlace, signature: str) -> None:
    """InvalidChangeToken unless the signature is this user's for this place."""
    expected = base64.urlsafe_b64encode(_signature(key, user_id, place)).decode().rstrip("=")
    if not hmac.compare_digest(expected, signature):  # both ASCII (read checked it)
        raise InvalidChangeToken()


def ensure_same_stream(place: FeedPlace, first_position: int | None) -> None:
    """ResyncRequired when the stream the token was issued in has been erased since (a token issued before the user
    had a stream still follows whatever stream they have: its client holds nothing)."""
    if place.epoch and place.epoch != first_position:
        raise ResyncRequired()
