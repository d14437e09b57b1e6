"""How a page ends and where the next one begins, for the list and the histories alike.

A page ends at `limit` items, or earlier, before the item that would take its items past the byte budget
(response_size): an answer never passes Lambda's limit, whatever the items hold. It always holds its first item
(the largest item is ~10 KB). The next page starts after an opaque cursor: base64url of a small JSON array that
names where the page ended, `[date, log_id]` for a list (the form list cursors have always had; a list filtered by
source adds the source, `[date, log_id, source]`, and a cursor answers only the filter it was issued for),
`["log_history", version]` or `["goal_history", version]` for a history, and
`["export", format, as_of, page, section, date, key]` for an export (exports). Anything else, a cursor of another
kind included, is InvalidCursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from progress_tracking.errors import InvalidCursor
from progress_tracking.models.fields import log_id_adapter
from progress_tracking.response_size import ITEMS_BUDGET_BYTES, body_text, invoke_bytes
from progress_tracking.units import Units, in_units

Item = TypeVar("Item", bound=BaseModel)
History = Literal["log_history", "goal_history"]
MAX_VERSION = 2**31 - 1  # versions are Postgres integers


def fit(items: Sequence[Item], limit: int, units: Units = "metric") -> tuple[list[Item], bool]:
    """The page out of `items`, the rows of a query for `limit + 1`: the first `limit` of them, or fewer where the
    next one would take the page's items past the budget (each measured as answered, in `units`); and whether more
    follow it."""
    used = 0
    for count, item in enumerate(items[:limit]):
        answered = in_units(item.model_dump(mode="json"), units)
        used += invoke_bytes(body_text(answered)) + (1 if count else 0)  # and the comma before it
        if count and used > ITEMS_BUDGET_BYTES:
            return list(items[:count]), True
    return list(items[:limit]), len(items) > limit


def list_cursor(last_date: date, last_log_id: int, source: str | None = None) -> str:
    position: list[Any] = [last_date.isoformat(), last_log_id]
    return encode_position(position if source is None else [*position, source])


def after_in_list(cursor: str, source: str | None = None) -> tuple[date, int]:
    """The (date, log_id) a list cursor names; InvalidCursor unless it was issued for the same source filter."""
    try:
        last_date, last_log_id, *filtered = decode_position(cursor)
        after = date.fromisoformat(last_date), log_id_adapter.validate_python(last_log_id, strict=True)
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError included
        raise InvalidCursor() from exc
    if filtered != ([] if source is None else [source]):
        raise InvalidCursor("The cursor belongs to a list with another source filter; start again from the first page")
    return after


def history_cursor(history: History, last_version: int) -> str:
    return encode_position([history, last_version])


def after_in_history(history: History, cursor: str) -> int:
    """The version a cursor of this history names."""
    try:
        kind, last_version = decode_position(cursor)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor() from exc
    if kind != history or type(last_version) is not int or not 1 <= last_version <= MAX_VERSION:
        raise InvalidCursor()
    return last_version


@dataclass(frozen=True)
class ExportPosition:
    """Where the next page of an export starts: after `key` (and `after_date`, for the logs) in `section`, or at the
    section's start when `key` is None; with the export's format, moment and page number."""

    format: str
    as_of: datetime
    page: int
    section: int
    after_date: date | None
    key: int | None


EXPORT_SECTIONS = 4  # the head, the logs, the logs' events, the goals' events (exports)


def export_cursor(position: ExportPosition) -> str:
    return encode_position(
        [
            "export",
            position.format,
            position.as_of.isoformat(),
            position.page,
            position.section,
            position.after_date.isoformat() if position.after_date else None,
            position.key,
        ]
    )


def after_in_export(cursor: str) -> ExportPosition:
    """The position an export cursor names."""
    try:
        kind, fmt, as_of, page, section, after_date, key = decode_position(cursor)
        position = ExportPosition(
            format=fmt,
            as_of=datetime.fromisoformat(as_of),
            page=page,
            section=section,
            after_date=None if after_date is None else date.fromisoformat(after_date),
            key=None if key is None else log_id_adapter.validate_python(key, strict=True),
        )
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError included
        raise InvalidCursor() from exc
    valid = (
        kind == "export"
        and fmt in ("json", "csv")
        and position.as_of.tzinfo is not None
        and type(page) is int
        and 2 <= page <= MAX_VERSION
        and type(section) is int
        and 1 <= section < EXPORT_SECTIONS
        and (after_date is None or (section == 1 and key is not None))
    )
    if not valid:
        raise InvalidCursor()
    return position


def encode_position(position: list[Any]) -> str:
    """base64url of the position as compact JSON (also the body of the change feed's signed token)."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor: str) -> Any:
    """The JSON value `encode_position` wrote; InvalidCursor for anything else."""
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
