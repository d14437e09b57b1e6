"""The body of every error the service answers with."""

from __future__ import annotations

from pydantic import BaseModel, Field


def _absent(value: object) -> bool:
    return value is None


class ErrorDetail(BaseModel):
    field: str | None
    message: str
    type: str | None = None
    # Where in an imported file (answered only there): the CSV line (the header is line 1), or the index in `logs`.
    line: int | None = Field(default=None, exclude_if=_absent)
    index: int | None = Field(default=None, exclude_if=_absent)


class ErrorBody(BaseModel):
    """Every error the service answers with; API Gateway's own 401/403 carry only `message`."""

    message: str
    code: str
    details: list[ErrorDetail] | None = None
