"""The body of every error the service answers with."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    field: str | None
    message: str
    type: str | None = None


class ErrorBody(BaseModel):
    """Every error the service answers with; API Gateway's own 401/403 carry only `message`."""

    message: str
    code: str
    details: list[ErrorDetail] | None = None
