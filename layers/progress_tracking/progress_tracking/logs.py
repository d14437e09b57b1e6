"""The operations on a user's logs (and the erasure of all their data, which the logs' endpoint serves): each applies
the ownership rules, then runs one transaction on the store. A summary is summaries', goals are goals'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from progress_tracking import authz, idempotency, paging
from progress_tracking.authz import Identity
from progress_tracking.db import Cursor, Database
from progress_tracking.errors import (
    InvalidRequest,
    InvalidRollback,
    PreconditionFailed,
    UnknownUser,
    UserServiceUnavailable,
)
from progress_tracking.models.log import (
    MEASUREMENT_FIELDS,
    HistoryEntry,
    HistoryQuery,
    ListQuery,
    LogCreate,
    LogHistory,
    LogUpdate,
    ProgressLog,
    ProgressPage,
)
from progress_tracking.store import appending, erasure, idempotency_keys, listing
from progress_tracking.store.appending import Change

if TYPE_CHECKING:
    # Only for the signatures: the upsert's models load with the upsert, and the User Profile client (and requests
    # with it) only where a handler calls it.
    from progress_tracking.models.upsert import Outcome
    from progress_tracking.user_service import UserServiceClient


def _change(caller: Identity, request_id: str | None) -> Change:
    # No time here: the store stamps events with the database's time under the user's lock (containers' clocks differ).
    return Change(actor=caller.principal, request_id=request_id)


def _check_version(expected_versions: frozenset[int] | None, current_version: int) -> None:
    """If-Match: None means no condition (or `*`, which any existing log meets)."""
    if expected_versions is not None and current_version not in expected_versions:
        raise PreconditionFailed(f"The log is at version {current_version}; nothing was written")


@dataclass(frozen=True)
class Logged:
    log: ProgressLog
    replayed: bool  # True when an Idempotency-Key retry returned the original response
    # A POST with a client record id may find its record: updated, restored or unchanged (upserts).
    outcome: Outcome = "created"
    deleted: bool = False  # unchanged, and the record's log is deleted (its id stays reserved)


def log_progress(
    database: Database,
    users: UserServiceClient,
    caller: Identity,
    entry: LogCreate,
    request_id: str | None,
    idempotency_key: str | None = None,
) -> Logged:
    if entry.client_record_id is not None:
        # Imported here: the functions that import this module for reads do not load the upsert's models at cold start.
        from progress_tracking import upserts

        result = upserts.upsert_log(database, users, caller, entry, request_id, idempotency_key)
        item = result.items[0]
        return Logged(item.log, result.replayed, item.outcome, item.deleted)
    authz.ensure_may_act_for(caller, entry.user_id)
    claim = idempotency.Claim.of(caller.principal, idempotency_key, entry) if idempotency_key else None
    # Asked before the transaction opens: no database connection is held while another service answers. (A retry
    # with an Idempotency-Key asks too: its key is claimed or replayed in the transaction's first round trip.)
    try:
        exists = users.user_exists(entry.user_id)
    except UserServiceUnavailable:
        # A retry of a request that was answered needs no User Profile service: replay it if it is stored.
        replayed = database.single(lambda cursor: idempotency_keys.replay(cursor, claim)) if claim else None
        if replayed is None:
            raise
        return Logged(replayed, replayed=True)
    if not exists:
        raise UnknownUser()
    fields = entry.state()

    def work(cursor: Cursor) -> Logged:
        locked = None
        if claim is not None:
            started = idempotency_keys.claim_new_log(cursor, claim, entry.user_id)
            if started.replayed is not None:
                return Logged(started.replayed, replayed=True)
            locked = started.locked
        log = appending.log_new(cursor, entry.user_id, fields, _change(caller, request_id), locked)
        if claim is not None:
            idempotency_keys.complete(cursor, claim, log)
        return Logged(log, replayed=False)

    return database.run(work)


def update_log(
    database: Database,
    caller: Identity,
    log_id: int,
    update: LogUpdate,
    request_id: str | None,
    expected_versions: frozenset[int] | None = None,
) -> ProgressLog:
    changes = update.changes()

    def work(cursor: Cursor) -> ProgressLog:
        locked = appending.lock_log(cursor, log_id)
        current = locked.log
        authz.ensure_may_see_log(caller, current.user_id)
        _check_version(expected_versions, current.version)
        if all((changes[name] if name in changes else getattr(current, name)) is None for name in MEASUREMENT_FIELDS):
            raise InvalidRequest(
                "A log must keep at least one measurement",
                details=[
                    {"field": name, "message": "would leave the log without a measurement"}
                    for name in MEASUREMENT_FIELDS
                    if name in changes
                ],
            )
        return appending.update(cursor, locked, changes, _change(caller, request_id))

    return database.run(work)


def delete_log(
    database: Database,
    caller: Identity,
    log_id: int,
    request_id: str | None,
    expected_versions: frozenset[int] | None = None,
) -> None:
    def work(cursor: Cursor) -> None:
        locked = appending.lock_log(cursor, log_id)
        authz.ensure_may_see_log(caller, locked.log.user_id)
        _check_version(expected_versions, locked.log.version)
        appending.delete(cursor, locked, _change(caller, request_id))

    database.run(work)


def log_history(database: Database, caller: Identity, log_id: int, query: HistoryQuery) -> LogHistory:
    """A page of a log's events, oldest first, paged like the list."""
    after = paging.after_in_history("log_history", query.cursor) if query.cursor else 0

    def work(cursor: Cursor) -> list[appending.LogEvent]:
        # One row more than asked tells whether another page follows.
        events = appending.log_events(cursor, log_id, after, query.limit + 1)
        authz.ensure_may_see_log(caller, events[0].user_id)
        return events

    events = database.single(work)
    page, more = paging.fit([HistoryEntry.model_validate(event) for event in events], query.limit, query.units)
    next_cursor = paging.history_cursor("log_history", page[-1].version) if more else None
    return LogHistory(log_id=log_id, user_id=events[0].user_id, events=page, next_cursor=next_cursor)


def rollback(
    database: Database,
    caller: Identity,
    log_id: int,
    to_version: int,
    request_id: str | None,
    expected_versions: frozenset[int] | None = None,
) -> ProgressLog:
    def work(cursor: Cursor) -> ProgressLog:
        history = appending.lock_history(cursor, log_id)
        events = history.events
        authz.ensure_may_see_log(caller, events[0].user_id)
        latest = events[-1]
        _check_version(expected_versions, latest.version)
        target = next((event for event in events if event.version == to_version), None)
        if target is None:
            raise InvalidRollback(
                f"Version {to_version} does not exist; the log has versions {events[0].version} to {latest.version}"
            )
        if target.event_type == "deleted":
            raise InvalidRollback(f"Version {to_version} is the log's deletion; choose a version before it")
        if to_version == latest.version:
            raise InvalidRollback(f"The log is already at version {to_version}")
        return appending.restore(cursor, history, target, _change(caller, request_id))

    return database.run(work)


def delete_user_logs(database: Database, caller: Identity, user_id: str, request_id: str | None) -> int:
    authz.ensure_may_act_for(caller, user_id)
    return database.run(lambda cursor: appending.delete_all_for_user(cursor, user_id, _change(caller, request_id)))


def erase_user(database: Database, caller: Identity, user_id: str) -> dict[str, int]:
    """Hard erasure for privacy requests: every event and projection of the user, gone for good."""
    authz.require_scope(caller, authz.ADMIN_PROGRESS)
    return database.run(lambda cursor: _erase(cursor, user_id))


def erase_deleted_user(database: Database, user_id: str) -> dict[str, int]:
    """The User Profile service deleted the user: the same erasure, in the same transaction shape and under the same
    lock, with no caller to authorize (the event bus rule is the authority). Nothing left to erase is a no-op."""
    return database.run(lambda cursor: _erase(cursor, user_id))


def _erase(cursor: Cursor, user_id: str) -> dict[str, int]:
    return erasure.erase_user(cursor, user_id)  # UserProgressErased, published in the user's order once this commits


def list_progress(database: Database, caller: Identity, user_id: str, query: ListQuery) -> ProgressPage:
    authz.ensure_may_act_for(caller, user_id)
    # A cursor names the source filter of its list: a page of another filter would skip or repeat logs.
    after = paging.after_in_list(query.cursor, query.source) if query.cursor else None
    # One row more than asked tells whether another page follows.
    logs = database.single(
        lambda cursor: listing.list_logs(
            cursor,
            user_id,
            after=after,
            date_from=query.date_from,
            date_to=query.date_to,
            limit=query.limit + 1,
            as_of=query.as_of,
            source=query.source,
        )
    )
    page, more = paging.fit(logs, query.limit, query.units)
    next_cursor = paging.list_cursor(page[-1].date, page[-1].log_id, query.source) if more else None
    return ProgressPage(user_id=user_id, progress_logs=page, next_cursor=next_cursor)
