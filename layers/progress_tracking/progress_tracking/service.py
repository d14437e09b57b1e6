"""The service's operations: each applies the ownership rules, then runs one transaction on the store."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime, timedelta

from progress_tracking import authz, store
from progress_tracking.db import Cursor, Database
from progress_tracking.errors import InvalidCursor, InvalidRequest, UnknownUser
from progress_tracking.models import (
    MEASUREMENT_FIELDS,
    ListQuery,
    LogCreate,
    LogUpdate,
    ProgressLog,
    ProgressPage,
    Summary,
)
from progress_tracking.tokens import Identity
from progress_tracking.user_service import UserServiceClient


def _change(caller: Identity, request_id: str | None) -> store.Change:
    return store.Change(actor=caller.principal, request_id=request_id, at=datetime.now(UTC))


def log_progress(
    database: Database, users: UserServiceClient, caller: Identity, entry: LogCreate, request_id: str | None
) -> ProgressLog:
    authz.ensure_may_act_for(caller, entry.user_id)
    # Asked before the transaction opens: no database connection is held while another service answers.
    if not users.user_exists(entry.user_id):
        raise UnknownUser()
    fields = entry.model_dump(exclude={"user_id"})
    return database.run(lambda cursor: store.log_new(cursor, entry.user_id, fields, _change(caller, request_id)))


def update_log(
    database: Database, caller: Identity, log_id: int, update: LogUpdate, request_id: str | None
) -> ProgressLog:
    changes = update.changes()

    def work(cursor: Cursor) -> ProgressLog:
        current = store.lock_log(cursor, log_id)
        authz.ensure_may_see_log(caller, current.user_id)
        if all((changes[name] if name in changes else getattr(current, name)) is None for name in MEASUREMENT_FIELDS):
            raise InvalidRequest(
                "A log must keep at least one measurement",
                details=[
                    {"field": name, "message": "would leave the log without a measurement"}
                    for name in MEASUREMENT_FIELDS
                    if name in changes
                ],
            )
        return store.update(cursor, current, changes, _change(caller, request_id))

    return database.run(work)


def delete_log(database: Database, caller: Identity, log_id: int, request_id: str | None) -> None:
    def work(cursor: Cursor) -> None:
        current = store.lock_log(cursor, log_id)
        authz.ensure_may_see_log(caller, current.user_id)
        store.delete(cursor, current, _change(caller, request_id))

    database.run(work)


def delete_user_logs(database: Database, caller: Identity, user_id: str, request_id: str | None) -> int:
    authz.ensure_may_act_for(caller, user_id)
    return database.run(lambda cursor: store.delete_all_for_user(cursor, user_id, _change(caller, request_id)))


def list_progress(database: Database, caller: Identity, user_id: str, query: ListQuery) -> ProgressPage:
    authz.ensure_may_act_for(caller, user_id)
    after = decode_cursor(query.cursor) if query.cursor else None
    # One row more than asked tells whether another page follows.
    logs = database.run(
        lambda cursor: store.list_logs(
            cursor, user_id, after=after, date_from=query.date_from, date_to=query.date_to, limit=query.limit + 1
        )
    )
    page, more = logs[: query.limit], len(logs) > query.limit
    next_cursor = encode_cursor(page[-1].date, page[-1].log_id) if more else None
    return ProgressPage(user_id=user_id, progress_logs=page, next_cursor=next_cursor)


def summarize(database: Database, caller: Identity, user_id: str, today: date | None = None) -> Summary:
    authz.ensure_may_act_for(caller, user_id)
    facts = database.run(lambda cursor: store.summary_facts(cursor, user_id))
    return summary_from_facts(user_id, facts, today or datetime.now(UTC).date())


def summary_from_facts(user_id: str, facts: store.SummaryFacts, today: date) -> Summary:
    weight_change = None
    if facts.first_weight is not None and facts.latest_weight is not None:
        weight_change = facts.latest_weight - facts.first_weight
    # A streak is current while its last day is today or yesterday: today's log may simply not be in yet.
    current = facts.last_streak if facts.last_date and facts.last_date >= today - timedelta(days=1) else 0
    return Summary(
        user_id=user_id,
        log_count=facts.log_count,
        first_date=facts.first_date,
        last_date=facts.last_date,
        average_weight=_round(facts.average_weight),
        latest_weight_kg=facts.latest_weight,
        weight_change_kg=_round(weight_change),
        min_weight_kg=facts.min_weight,
        max_weight_kg=facts.max_weight,
        average_calories_burned=_round(facts.average_calories),
        total_calories_burned=round(facts.total_calories, 2),
        workouts=facts.workouts,
        current_streak_days=current,
        longest_streak_days=facts.longest_streak,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def encode_cursor(last_date: date, last_log_id: int) -> str:
    raw = json.dumps([last_date.isoformat(), last_log_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        last_date, last_log_id = json.loads(raw)
        if not isinstance(last_log_id, int) or isinstance(last_log_id, bool) or not 0 < last_log_id < 2**63:
            raise ValueError("bad log id")
        return date.fromisoformat(last_date), last_log_id
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
