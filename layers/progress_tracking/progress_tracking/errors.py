"""Domain errors. They say what went wrong in the domain's words; `api_edge` maps them to responses, once."""

from __future__ import annotations

from typing import Any


class ProgressError(Exception):
    """Base of every error a client can cause or must be told about."""

    message = "The request could not be completed"

    def __init__(self, message: str | None = None, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details


class InvalidRequest(ProgressError):
    message = "The request is invalid"


class MalformedJson(InvalidRequest):
    message = "The request body is not valid JSON"


class InvalidCursor(InvalidRequest):
    message = "The cursor is not one this service issued"


class InvalidChangeToken(InvalidRequest):
    message = "The since token is not one this service issued for this user"


class ResyncRequired(ProgressError):
    """The user's data was erased after the change feed's token was issued: what the client holds is gone."""

    message = (
        "The user's data was erased after this token was issued; resync: drop what you hold and follow the changes "
        "again without since"
    )


class PayloadTooLarge(ProgressError):
    message = "The request body is too large"


class UnknownUser(ProgressError):
    message = "The user does not exist in the User Profile service"


class TokenExpired(ProgressError):
    """The token expired after the authorizer allowed it (its answer is cached per token); said as API Gateway does."""

    message = "Unauthorized"


class Forbidden(ProgressError):
    message = "You may not act on this user's progress"


class MissingScope(ProgressError):
    message = "The token lacks the scope this operation needs"


class LogNotFound(ProgressError):
    message = "No such progress log"


class GoalsNotFound(ProgressError):
    message = "The user has no goals"


class InvalidRollback(ProgressError):
    message = "The log cannot be rolled back to that version"


class ConcurrentChange(ProgressError):
    message = "The log was changed at the same time by another request; try again"


class PreconditionFailed(ProgressError):
    message = "The log's version does not match If-Match; nothing was written"


class IdempotencyKeyReused(ProgressError):
    message = "This Idempotency-Key was already used with a different request body"


class UserServiceUnavailable(ProgressError):
    message = "The User Profile service is unavailable; nothing was written"


class DatabaseUnavailable(ProgressError):
    message = "The database is unavailable; nothing was written"


class DatabaseBusy(ProgressError):
    message = "The database is busy (a lock or a statement took too long); nothing was written, try again"


class InvalidToken(Exception):
    """A bearer token failed verification. Never shown to clients beyond API Gateway's 401."""
