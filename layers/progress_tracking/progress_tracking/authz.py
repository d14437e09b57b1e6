"""Authorization rules: scopes per operation and ownership of data. Every handler applies them through here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from progress_tracking.errors import Forbidden, LogNotFound, MissingScope
from progress_tracking.tokens import Identity

READ_PROGRESS = "read:progress"
WRITE_PROGRESS = "write:progress"
DELETE_PROGRESS = "delete:progress"
ADMIN_PROGRESS = "admin:progress"


def caller_from_context(context: Mapping[str, Any] | None) -> Identity:
    """The identity the authorizer put into the request context (every value arrives as a string)."""
    context = context or {}
    principal = str(context.get("principal") or context.get("principalId") or "")
    if not principal:
        # Only reachable when a function is invoked without the authorizer in front of it.
        raise MissingScope("The request carries no authorized identity")
    return Identity(
        principal=principal,
        scopes=frozenset(str(context.get("scope") or "").split()),
        user_id=str(context.get("user_id") or "") or None,
        is_client=str(context.get("client")).lower() == "true",
    )


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
