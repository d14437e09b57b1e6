"""What an import finds in the store, read in one statement: the client records its ids name, which logs it names are
the user's own live ones, and the goals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from progress_tracking.db import Cursor, one_row
from progress_tracking.store.statements import statement


@dataclass(frozen=True)
class Record:
    log_id: int
    client_version: int
    deleted: bool


@dataclass(frozen=True)
class Found:
    records: dict[tuple[str, str], Record]  # by (source, client_record_id)
    live_log_ids: set[int]  # the log ids asked about that are the user's live logs
    goals: dict[str, Any] | None  # the user's goals' targets; None when they have none


def find(cursor: Cursor, user_id: str, keys: list[tuple[str, str]], log_ids: list[int]) -> Found:
    """The client records of `keys` ((source, client_record_id) pairs), the live logs among `log_ids`, the goals."""
    cursor.execute(
        statement("import_plan"),
        {
            "user_id": user_id,
            "sources": [source for source, _ in keys],
            "client_record_ids": [record_id for _, record_id in keys],
            "log_ids": log_ids,
        },
    )
    records, live_log_ids, goals = one_row(cursor)
    return Found(
        records={
            (record["source"], record["client_record_id"]): Record(
                record["log_id"], record["client_version"], record["deleted"]
            )
            for record in records
        },
        live_log_ids=set(live_log_ids),
        goals=goals,
    )
