"""The versioned upsert in the store: any number of a user's logs written in one statement under the user's lock
(`progress_upsert_logs`, migration 0019), the first of a two-round-trip transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from psycopg2.extras import Json

from progress_tracking.db import Cursor, rows_by_name
from progress_tracking.idempotency import Claim
from progress_tracking.models.log import LogItem, ProgressLog, state_of
from progress_tracking.models.upsert import Upserted
from progress_tracking.store import idempotency_keys
from progress_tracking.store.appending import Change, event_state
from progress_tracking.store.statements import statement


@dataclass(frozen=True)
class Written:
    """The items' outcomes, in their order; or, for an Idempotency-Key used before, the response stored with it."""

    items: list[Upserted]
    replayed: Any = None


def _item(item: LogItem) -> dict[str, Any]:
    # `data` is what a single POST's event records (appending.event_data): the same JSON, so the same events, and the
    # same columns (weight_lb as entered, source, device). The record is keyed by the data's source.
    return {
        "data": event_state(item.state()),
        "client_record_id": item.client_record_id,
        "client_version": item.client_version,
    }


def upsert_logs(cursor: Cursor, user_id: str, items: list[LogItem], change: Change, claim: Claim | None) -> Written:
    """Write the items (at most one per source and client record id) under the user's lock, in one statement; the
    claimed key's response is the caller's to store (idempotency_keys.complete_with), with the COMMIT."""
    cursor.execute(
        statement("upsert_logs"),
        {
            "user_id": user_id,
            "items": Json([_item(item) for item in items], dumps=json.dumps),
            "actor": change.actor,
            "request_id": change.request_id,
            "principal": claim.principal if claim else None,
            "key": claim.key if claim else None,
            "request_hash": claim.request_hash if claim else None,
        },
    )
    rows = rows_by_name(cursor)
    if rows[0]["outcome"] == "replayed":
        assert claim is not None
        return Written([], idempotency_keys.replayable(claim, rows[0]["request_hash"], rows[0]["response"]))
    return Written(
        [
            Upserted(
                index=row["item_index"],
                outcome=row["outcome"],
                deleted=row["deleted"],
                log=ProgressLog(
                    log_id=row["log_id"],
                    user_id=user_id,
                    version=row["version"],
                    created_at=row["created_at"],
                    updated_at=row["updated_at"],
                    **state_of(row["state"]),
                ),
            )
            for row in rows
        ]
    )
