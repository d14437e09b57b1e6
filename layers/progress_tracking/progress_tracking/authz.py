"""Authorization rules: scopes per operation and ownership of data. Every handler applies them through here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from progress_tracking.errors import Forbidden, InvalidToken, LogNotFound, MissingScope, TokenExpired

READ_PROGRESS = "read:progress"
WRITE_PROGRESS = "write:progress"
DELETE_PROGRESS = "delete:progress"
ADMIN_PROGRESS = "admin:progress"
# Auth0 marks machine-to-machine tokens with this grant type; nothing else (not the shape of `sub`) makes a client.
CLIENT_CREDENTIALS_GRANT = "client-credentials"
# Clock skew allowed between Auth0 and us, by the authorizer's verification and by the handlers' expiry check alike.
TOKEN_LEEWAY_SECONDS = 30
# A scope is one word (RFC 6749 §3.3: a scope-token is printable ASCII other than space, quote and backslash), and a
# list of scopes is separated by single spaces (U+0020) only. A value with anything else inside (a tab, U+2003) is no
# scope: split on whitespace, "read:progress<TAB>admin:progress" would become two, one of them admin.
_SCOPE_WORD = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


@dataclass(frozen=True)
class Identity:
    """Who a verified token speaks for; passed from the authorizer to handlers through the request context."""

    principal: str
    scopes: frozenset[str]
    user_id: str | None  # the User Profile id of an end user; None for machine-to-machine clients
    is_client: bool
    expires_at: int | None = None  # the token's exp (seconds since the epoch)

    def as_context(self) -> dict[str, str]:
        # API Gateway passes only strings, numbers and booleans; strings keep the round trip exact. Every scope is one
        # word (identity_from_claims drops the rest), so joined by spaces each comes back as one.
        return {
            "principal": self.principal,
            "scope": " ".join(sorted(self.scopes)),
            "user_id": self.user_id or "",
            "client": "true" if self.is_client else "false",
            "exp": "" if self.expires_at is None else str(self.expires_at),
        }


def scope_words(values: Iterable[object]) -> frozenset[str]:
    """The values that are one scope word each; any other value is dropped, never split (docs/security.md says why
    dropping it, rather than refusing the token, is safe: it can only take a scope away)."""
    return frozenset(value for value in values if isinstance(value, str) and _SCOPE_WORD.fullmatch(value))


def identity_from_claims(claims: Mapping[str, Any], user_id_claim: str = "sub") -> Identity:
    """Who a verified token's claims speak for."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("no subject")
    values: list[object] = []
    if isinstance(claims.get("scope"), str):
        values += claims["scope"].split(" ")
    if isinstance(claims.get("permissions"), list):
        values += claims["permissions"]
    is_client = claims.get("gty") == CLIENT_CREDENTIALS_GRANT
    user_id = None if is_client else claims.get(user_id_claim)
    expiry = claims.get("exp")
    return Identity(
        principal=subject,
        scopes=scope_words(values),
        user_id=user_id if isinstance(user_id, str) and user_id else None,
        is_client=is_client,
        expires_at=int(expiry) if isinstance(expiry, int | float) and not isinstance(expiry, bool) else None,
    )


def caller_from_context(context: Mapping[str, Any] | None) -> Identity:
    """The identity the authorizer put into the request context (every value arrives as a string)."""
    context = context or {}
    principal = str(context.get("principal") or context.get("principalId") or "")
    if not principal:
        # Only reachable when a function is invoked without the authorizer in front of it.
        raise MissingScope("The request carries no authorized identity")
    return Identity(
        principal=principal,
        scopes=scope_words(str(context.get("scope") or "").split(" ")),
        user_id=str(context.get("user_id") or "") or None,
        is_client=str(context.get("client")).lower() == "true",
        expires_at=int(expiry) if (expiry := str(context.get("exp") or "")).isdigit() else None,
    )


def ensure_unexpired(caller: Identity, now: float) -> None:
    """The authorizer's answer is cached per token (300 s at API Gateway), so the token may have expired since."""
    if caller.expires_at is None or caller.expires_at + TOKEN_LEEWAY_SECONDS < now:
        raise TokenExpired()


def require_scope(caller: Identity, scope: str) -> None:
    if scope not in caller.scopes:
        raise MissingScope(f"This operation needs the {scope} scope")


def may_act_for(caller: Identity, user_id: str) -> bool:
    """Machine clients and admins may act for anyone; an end user only for themself."""
    return caller.is_client or ADMIN_PROGRESS in caller.scopes or caller.user_id == user_id


def ensure_may_act_for(caller: Identity, user_id: str) -> None:
    if not may_act_for(caller, user_id):
        raise Forbidden()


def ensure_may_see_log(caller: Identity, owner_user_id: str) -> None:
    # Someone else's log is reported as missing: its existence is not the caller's business.
    if not may_act_for(caller, owner_user_id):
        raise LogNotFound()
