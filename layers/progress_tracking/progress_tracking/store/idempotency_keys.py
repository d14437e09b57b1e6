"""Idempotency keys in the database: claimed with the user's lock, stored with the response they replay in the
transaction that wrote the log, and expired after their lifetime (idempotency holds the rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg2.extras import Json

from progress_tracking.db import Cursor, defer, one_row
from progress_tracking.errors import ConcurrentChange, IdempotencyKeyReused
from progress_tracking.idempotency import HEADER, LIFETIME, Claim
from progress_tracking.models.log import ProgressLog
from progress_tracking.store.statements import statement
from progress_tracking.store.streams import UserLock


def replay(cursor: Cursor, claim: Claim) -> ProgressLog | None:
    """The response stored under the caller's key (IdempotencyKeyReused for another body); None for a new key."""
    stored = stored_response(cursor, claim)
    return None if stored is None else ProgressLog.model_validate(stored)


def stored_response(cursor: Cursor, claim: Claim) -> Any:
    """The JSON stored under the caller's key (IdempotencyKeyReused for another body); None for a new key."""
    cursor.execute(statement("replay_key"), {"principal": claim.principal, "key": claim.key})
    row = cursor.fetchone()
    if row is None:
        return None
    return replayable(claim, row[0], row[1])


def replayable(claim: Claim, request_hash: str | None, response: Any) -> Any:
    """The response of the request that claimed the key first, found under the user's lock: the same body, or
    IdempotencyKeyReused; a key that vanished while this waited (expired or erased) is a ConcurrentChange."""
    if request_hash is None:
        raise ConcurrentChange(f"A request with this {HEADER} was being processed; try again")
    if request_hash != claim.request_hash:
        raise IdempotencyKeyReused()
    return response


@dataclass(frozen=True)
class Started:
    """A keyed POST's first statement: the user's lock and a log id with the key claimed, or a response to replay."""

    locked: tuple[UserLock, int] | None  # (the user's lock, the new log id) when this request owns the key
    replayed: ProgressLog | None


def claim_new_log(cursor: Cursor, claim: Claim, user_id: str) -> Started:
    """The user's lock, then the key claimed with a new log id, in one statement (`progress_claim_key`); or the
    response of the request that claimed the key first, read after the lock (a request with the same key in flight
    holds the user's lock, so this waited for it to commit)."""
    cursor.execute(
        statement("claim_key"),
        {"principal": claim.principal, "key": claim.key, "user_id": user_id, "request_hash": claim.request_hash},
    )
    at, release_tx, log_id, request_hash, response = one_row(cursor)
    if log_id is not None:
        return Started((UserLock(at, release_tx), log_id), None)
    if request_hash is None:  # its key vanished (expired or erased) while this waited
        raise ConcurrentChange(f"A request with this {HEADER} was being processed; try again")
    if request_hash != claim.request_hash:
        raise IdempotencyKeyReused()
    return Started(None, ProgressLog.model_validate(response))


def complete(cursor: Cursor, claim: Claim, log: ProgressLog) -> None:
    """Store the response with the claimed key, in the transaction that wrote the log (sent with its COMMIT)."""
    complete_with(cursor, claim, log.model_dump(mode="json"))


def complete_with(cursor: Cursor, claim: Claim, response: Any) -> None:
    """Store a response (JSON-ready) with the claimed key, sent with the COMMIT of the transaction that wrote it."""
    defer(
        cursor,
        statement("complete_key"),
        {"response": Json(response), "principal": claim.principal, "key": claim.key},
    )


def expire(cursor: Cursor, now: datetime) -> int:
    """Forget the keys older than their lifetime; the number forgotten."""
    cursor.execute(statement("expire_keys"), {"before": now - LIFETIME})
    return cursor.rowcount
