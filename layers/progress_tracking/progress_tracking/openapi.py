"""What each endpoint accepts and answers, declared beside its handler (`OPERATION`) with the very models the
handler validates and answers with; the OpenAPI description is generated from these declarations and template.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class Operation:
    summary: str
    scope: str
    success: tuple[int, type[BaseModel] | tuple[type[BaseModel], ...]]  # several: the answer is one of them
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    request_headers: tuple[str, ...] = ()  # If-Match, Idempotency-Key
    response_headers: tuple[str, ...] = ()  # ETag, Location, Idempotent-Replayed
