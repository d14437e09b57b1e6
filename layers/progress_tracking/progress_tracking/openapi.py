"""What each endpoint accepts, answers and raises, declared beside its handler (`OPERATION`) with the very models and
domain errors the handler uses; the OpenAPI description is generated from these declarations and template.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from progress_tracking import errors

# What every API operation can raise: invalid input, an expired token, a missing scope, no database.
EVERY_OPERATION_RAISES: tuple[type[errors.ProgressError], ...] = (
    errors.InvalidRequest,
    errors.TokenExpired,
    errors.MissingScope,
    errors.DatabaseUnavailable,
)
# And every operation with a body, while reading it.
A_BODY_RAISES: tuple[type[errors.ProgressError], ...] = (errors.MalformedJson, errors.PayloadTooLarge)
MERGE_PATCH = "application/merge-patch+json"  # RFC 7396's media type, a PATCH body's


@dataclass(frozen=True)
class Operation:
    summary: str
    scope: str
    success: tuple[int, type[BaseModel] | tuple[type[BaseModel], ...]]  # several: the answer is one of them
    other_successes: tuple[tuple[int, type[BaseModel]], ...] = ()  # e.g. a POST's 200 when it did not create
    raises: tuple[type[errors.ProgressError], ...] = ()  # the domain errors of this operation beyond the common ones
    body: type[BaseModel] | None = None
    body_media_types: tuple[str, ...] = ("application/json",)  # the body is read as JSON whichever is sent
    query: type[BaseModel] | None = None
    request_headers: tuple[str, ...] = ()  # If-Match, Idempotency-Key
    response_headers: tuple[str, ...] = ()  # ETag, Location, Idempotent-Replayed
    text_media: tuple[str, ...] = ()  # besides JSON, what the success (and the body, if any) may be as text: text/csv

    def errors(self) -> tuple[type[errors.ProgressError], ...]:
        """Every domain error the operation can answer with."""
        return (*EVERY_OPERATION_RAISES, *(A_BODY_RAISES if self.body else ()), *self.raises)
