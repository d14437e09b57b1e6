"""The versioned upsert (the Health Connect rule): a user's logs named by the client's record ids, written in one
transaction of two round trips, for a batch of up to 500 and for a single POST that carries a client record id.

An id that exists for (user, source) takes a higher client version as an update (a deleted log comes back, restored)
and answers an equal or lower one with the log as it is, writing nothing. The User Profile service is asked once
per call. `upsert_batch` is also the import's way in (a plain function of the layer: no HTTP in it).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from progress_tracking import authz
from progress_tracking.authz import Identity
from progress_tracking.db import Cursor, Database
from progress_tracking.errors import InvalidRequest, UnknownUser, UserServiceUnavailable
from progress_tracking.idempotency import Claim
from progress_tracking.models.log import LogCreate, LogItem
from progress_tracking.models.upsert import MAX_BATCH_ITEMS, LogsBatch, Upserted
from progress_tracking.store import idempotency_keys, upserting
from progress_tracking.store.appending import Change

if TYPE_CHECKING:
    from progress_tracking.user_service import UserServiceClient


@functools.cache
def _stored() -> TypeAdapter[list[Upserted]]:
    # Built on first use, not at import: every function that imports `logs` imports this module.
    return TypeAdapter(list[Upserted])


@dataclass(frozen=True)
class UpsertResult:
    items: list[Upserted]  # in the order of the items given
    replayed: bool  # True when an Idempotency-Key retry returned the original response


def upsert_batch(
    database: Database,
    users: UserServiceClient,
    caller: Identity,
    user_id: str,
    items: Sequence[LogItem],
    request_id: str | None,
    idempotency_key: str | None = None,
) -> UpsertResult:
    """Up to 500 logs of one user, all written or none, each item's outcome in their order. Items naming the same
    source and client record id twice are refused (InvalidRequest, each repeat by index), before anything is asked."""
    authz.ensure_may_act_for(caller, user_id)
    if len(items) > MAX_BATCH_ITEMS:
        raise InvalidRequest(
            f"A batch holds at most {MAX_BATCH_ITEMS} logs",
            details=[{"field": "logs", "message": f"at most {MAX_BATCH_ITEMS} items"}],
        )
    batch = LogsBatch.model_construct(user_id=user_id, logs=list(items))
    repeated = batch.repeated_ids()
    if repeated:
        raise InvalidRequest("Some logs name a client record id an earlier log of the batch names", details=repeated)
    claim = Claim.of(caller.principal, idempotency_key, batch) if idempotency_key else None
    return _upsert(database, users, caller, user_id, list(items), request_id, claim)


def upsert_log(
    database: Database,
    users: UserServiceClient,
    caller: Identity,
    entry: LogCreate,
    request_id: str | None,
    idempotency_key: str | None = None,
) -> UpsertResult:
    """A POST that carries a client record id: a batch of one (its replay included), hashed for its key as the
    POST's body."""
    authz.ensure_may_act_for(caller, entry.user_id)
    # Validated as the POST's body already: the same fields and rules, without the user_id.
    item = LogItem.model_construct(entry.model_fields_set - {"user_id"}, **entry.model_dump(exclude={"user_id"}))
    claim = Claim.of(caller.principal, idempotency_key, entry) if idempotency_key else None
    return _upsert(database, users, caller, entry.user_id, [item], request_id, claim)


def _upsert(
    database: Database,
    users: UserServiceClient,
    caller: Identity,
    user_id: str,
    items: list[LogItem],
    request_id: str | None,
    claim: Claim | None,
) -> UpsertResult:
    """The caller may act for the user (checked by the public functions)."""
    # Asked once, before the transaction opens: no connection is held while another service answers.
    try:
        exists = users.user_exists(user_id)
    except UserServiceUnavailable:
        # A retry of a request that was answered needs no User Profile service: replay it if it is stored.
        stored = database.single(lambda cursor: idempotency_keys.stored_response(cursor, claim)) if claim else None
        if stored is None:
            raise
        return UpsertResult(_stored().validate_python(stored), replayed=True)
    if not exists:
        raise UnknownUser()
    change = Change(actor=caller.principal, request_id=request_id)

    def work(cursor: Cursor) -> UpsertResult:
        written = upserting.upsert_logs(cursor, user_id, items, change, claim)
        if written.replayed is not None:
            return UpsertResult(_stored().validate_python(written.replayed), replayed=True)
        if claim is not None:
            idempotency_keys.complete_with(cursor, claim, _stored().dump_python(written.items, mode="json"))
        return UpsertResult(written.items, replayed=False)

    return database.run(work)
