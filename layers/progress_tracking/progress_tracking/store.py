"""The event store and its projections: all of the service's SQL, speaking the domain's models and errors.

Every change appends an immutable event to `progress_events`, bumps the user's stream version and updates the
`progress_logs` projection in the caller's transaction, so none of them can disagree.

The user's stream row is the per-user lock: every write of a user's data takes it first (a first log creates it), and
erasure takes it before it deletes, so a write commits wholly before an erasure or starts after it and finds nothing.
Event times are the database's, read under that lock and never earlier than the stream's previous event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg2.extras import Json, execute_values
from pydantic import BaseModel

from progress_tracking.db import Cursor, one_row
from progress_tracking.errors import ConcurrentChange, LogNotFound
from progress_tracking.goal_store import GoalFacts
from progress_tracking.models import MUTABLE_FIELDS, ProgressLog

LOG_COLUMNS = (
    "log_id",
    "user_id",
    "date",
    "weight_kg",
    "workout_done",
    "calories_burned",
    "notes",
    "version",
    "created_at",
    "updated_at",
)
# An event's data is the log's mutable fields; the rest of its state is in the event row itself.
DATA_FIELDS = MUTABLE_FIELDS
_SELECT_LOG = f"SELECT {', '.join(LOG_COLUMNS)} FROM progress_logs"


@dataclass(frozen=True)
class Change:
    """Who changed something and in which request: recorded with every event (the time is the database's)."""

    actor: str
    request_id: str | None


class LogEvent(BaseModel):
    position: int
    log_id: int
    user_id: str
    version: int
    event_type: str
    data: dict[str, Any]
    actor: str
    request_id: str | None
    occurred_at: datetime


def _log_from_row(row: tuple[Any, ...]) -> ProgressLog:
    return ProgressLog(**dict(zip(LOG_COLUMNS, row, strict=True)))


def _event_data(log: ProgressLog) -> Json:
    data = log.model_dump(include=set(DATA_FIELDS), mode="json")
    return Json(data, dumps=json.dumps)


# The database's time once the lock is held, never earlier than the stream's latest event. (The outer SELECT reads the
# clock only after the CTE has returned the locked row.)
_LOCKED_TIME = "SELECT greatest(clock_timestamp(), last_at) FROM locked"


def lock_user(cursor: Cursor, user_id: str, *, create: bool = False) -> datetime | None:
    """Take the user's lock (their stream row) until the transaction ends; the time to stamp events with.

    None when the user has no stream (nothing of theirs exists) and `create` is false.
    """
    if create:
        cursor.execute(
            "WITH locked AS (INSERT INTO user_streams (user_id, version) VALUES (%s, 0)"
            " ON CONFLICT (user_id) DO UPDATE SET version = user_streams.version RETURNING last_at) " + _LOCKED_TIME,
            (user_id,),
        )
    else:
        cursor.execute(
            "WITH locked AS (SELECT last_at FROM user_streams WHERE user_id = %s FOR UPDATE) " + _LOCKED_TIME,
            (user_id,),
        )
    row = cursor.fetchone()
    return row[0] if row else None


def _lock_owner_of(cursor: Cursor, log_id: int, table: str) -> datetime:
    """Lock the user whose log this is (found in `table`, unlocked: a log never changes hands)."""
    cursor.execute(
        f"WITH owner AS (SELECT user_id FROM {table} WHERE log_id = %s LIMIT 1),"
        " locked AS (SELECT last_at FROM user_streams WHERE user_id = (SELECT user_id FROM owner) FOR UPDATE) "
        + _LOCKED_TIME,
        (log_id,),
    )
    row = cursor.fetchone()
    if row is None:
        raise LogNotFound()
    return row[0]


def _append(cursor: Cursor, log: ProgressLog, event_type: str, change: Change, at: datetime) -> None:
    """Append one event and give the user's stream a new version, in one statement, under the user's lock.

    A version of the log that exists already is not an error in the database (so its log stays clean): it is checked.
    """
    cursor.execute(
        "WITH event AS ("
        " INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (log_id, version) DO NOTHING RETURNING user_id)"
        " UPDATE user_streams SET version = nextval('user_stream_version_seq'), last_at = %s"
        " WHERE user_id = (SELECT user_id FROM event) RETURNING 1",
        (log.log_id, log.user_id, log.version, event_type, _event_data(log), change.actor, change.request_id, at, at),
    )
    if cursor.fetchone() is None:
        raise ConcurrentChange()


def _project(cursor: Cursor, log: ProgressLog) -> None:
    values = log.model_dump()
    cursor.execute(
        f"INSERT INTO progress_logs ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join(['%s'] * len(LOG_COLUMNS))})"
        " ON CONFLICT (log_id) DO UPDATE SET date = EXCLUDED.date, weight_kg = EXCLUDED.weight_kg,"
        " workout_done = EXCLUDED.workout_done, calories_burned = EXCLUDED.calories_burned,"
        " notes = EXCLUDED.notes, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
        [values[name] for name in LOG_COLUMNS],
    )


def log_new(cursor: Cursor, user_id: str, fields: dict[str, Any], change: Change) -> ProgressLog:
    """A new log: the user's lock (and stream, for a first log) first, then the event and the projection."""
    at = lock_user(cursor, user_id, create=True)
    assert at is not None  # created if missing
    cursor.execute("SELECT nextval('progress_log_id_seq')")
    (log_id,) = one_row(cursor)
    log = ProgressLog(
        log_id=log_id,
        user_id=user_id,
        version=1,
        created_at=at,
        updated_at=at,
        **{name: fields.get(name) for name in DATA_FIELDS},
    )
    _append(cursor, log, "logged", change, at)
    _project(cursor, log)
    return log


@dataclass(frozen=True)
class LockedLog:
    """A live log whose user is locked until the transaction ends, and the time changes to it are stamped with."""

    log: ProgressLog
    at: datetime


def lock_log(cursor: Cursor, log_id: int) -> LockedLog:
    """The live log, its user locked first (as every write does): changes and erasure queue behind each other."""
    at = _lock_owner_of(cursor, log_id, "progress_logs")
    cursor.execute(f"{_SELECT_LOG} WHERE log_id = %s FOR UPDATE", (log_id,))
    row = cursor.fetchone()
    if row is None:  # deleted or erased while this transaction waited for the lock
        raise LogNotFound()
    return LockedLog(_log_from_row(row), at)


def update(cursor: Cursor, locked: LockedLog, changes: dict[str, Any], change: Change) -> ProgressLog:
    current = locked.log
    updated = current.model_copy(update={**changes, "version": current.version + 1, "updated_at": locked.at})
    _append(cursor, updated, "updated", change, locked.at)
    _project(cursor, updated)
    return updated


def delete(cursor: Cursor, locked: LockedLog, change: Change) -> None:
    # The deletion event keeps the last state, so history shows what was deleted and a rollback can restore it.
    current = locked.log
    _append(cursor, current.model_copy(update={"version": current.version + 1}), "deleted", change, locked.at)
    cursor.execute("DELETE FROM progress_logs WHERE log_id = %s", (current.log_id,))


def delete_all_for_user(cursor: Cursor, user_id: str, change: Change) -> int:
    """Delete every live log of a user in one statement (under the user's lock), one deletion event per log."""
    at = lock_user(cursor, user_id)
    if at is None:  # no stream: the user has never logged, or was erased
        return 0
    data = ", ".join(f"'{name}', {name}" for name in DATA_FIELDS)
    cursor.execute(
        "WITH gone AS (DELETE FROM progress_logs WHERE user_id = %(user_id)s RETURNING *),"
        " events AS ("
        "  INSERT INTO progress_events (log_id, user_id, version, event_type, data, actor, request_id, occurred_at)"
        f"  SELECT log_id, user_id, version + 1, 'deleted', jsonb_build_object({data}),"
        "   %(actor)s, %(request_id)s, %(at)s FROM gone RETURNING 1),"
        " bumped AS ("
        "  UPDATE user_streams SET version = nextval('user_stream_version_seq'), last_at = %(at)s"
        "  WHERE user_id = %(user_id)s AND EXISTS (SELECT 1 FROM events))"
        " SELECT count(*) FROM events",
        {"user_id": user_id, "actor": change.actor, "request_id": change.request_id, "at": at},
    )
    return int(one_row(cursor)[0])


def log_events(cursor: Cursor, log_id: int) -> list[LogEvent]:
    """Every event of one log, oldest first (deleted logs included)."""
    cursor.execute(
        "SELECT position, log_id, user_id, version, event_type, data, actor, request_id, occurred_at"
        " FROM progress_events WHERE log_id = %s ORDER BY version",
        (log_id,),
    )
    names = ("position", "log_id", "user_id", "version", "event_type", "data", "actor", "request_id", "occurred_at")
    events = [LogEvent(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
    if not events:
        raise LogNotFound()
    return events


@dataclass(frozen=True)
class LockedHistory:
    """Every event of a log (deleted or not), its user locked until the transaction ends."""

    events: list[LogEvent]
    at: datetime


def lock_history(cursor: Cursor, log_id: int) -> LockedHistory:
    at = _lock_owner_of(cursor, log_id, "progress_events")
    return LockedHistory(log_events(cursor, log_id), at)  # read under the lock: erased meanwhile is LogNotFound


def restore(cursor: Cursor, history: LockedHistory, target: LogEvent, change: Change) -> ProgressLog:
    """Append a `restored` event whose state is the state `target` produced (a deleted log comes back)."""
    events = history.events
    restored = ProgressLog(
        log_id=target.log_id,
        user_id=target.user_id,
        version=events[-1].version + 1,
        created_at=events[0].occurred_at,
        updated_at=history.at,
        **{name: target.data.get(name) for name in DATA_FIELDS},
    )
    _append(cursor, restored, "restored", change, history.at)
    _project(cursor, restored)
    return restored


# The state of every log as the events alone say, optionally as it stood at a moment: the latest event of each log
# (unless it is a deletion), born when its first event happened. Time travel and the projection rebuild share it.
_STATE_FROM_EVENTS = (
    "WITH scope AS (SELECT * FROM progress_events WHERE {where}),"
    " latest AS (SELECT DISTINCT ON (log_id) * FROM scope ORDER BY log_id, version DESC),"
    " born AS (SELECT log_id, min(occurred_at) AS created_at FROM scope GROUP BY log_id)"
    " SELECT latest.log_id, latest.user_id, (data->>'date')::date AS date, (data->>'weight_kg')::float8 AS weight_kg,"
    "  data->>'workout_done' AS workout_done, (data->>'calories_burned')::float8 AS calories_burned,"
    "  data->>'notes' AS notes, version, born.created_at, occurred_at AS updated_at"
    " FROM latest JOIN born USING (log_id) WHERE event_type <> 'deleted'"
)


def _page_conditions(
    after: tuple[date, int] | None, date_from: date | None, date_to: date | None
) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    if after is not None:
        conditions.append("(date, log_id) > (%s, %s)")
        params.extend(after)
    if date_from is not None:
        conditions.append("date >= %s")
        params.append(date_from)
    if date_to is not None:
        conditions.append("date <= %s")
        params.append(date_to)
    return conditions, params


def list_logs(
    cursor: Cursor,
    user_id: str,
    *,
    after: tuple[date, int] | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    as_of: datetime | None = None,
) -> list[ProgressLog]:
    """A page of a user's logs, oldest first, by keyset on (date, log_id) so that every page costs the same.

    With `as_of`, the logs as they stood at that moment, computed from the events.
    """
    conditions, params = _page_conditions(after, date_from, date_to)
    source_params: list[Any]
    if as_of is None:
        source, source_params = "progress_logs WHERE user_id = %s", [user_id]
    else:
        state = _STATE_FROM_EVENTS.format(where="user_id = %s AND occurred_at <= %s")
        source, source_params = f"({state}) AS as_of WHERE TRUE", [user_id, as_of]
    where = "".join(f" AND {condition}" for condition in conditions)
    cursor.execute(
        f"SELECT {', '.join(LOG_COLUMNS)} FROM {source}{where} ORDER BY date, log_id LIMIT %s",
        [*source_params, *params, limit],
    )
    return [_log_from_row(row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class ProjectionReport:
    missing: list[int]  # live in the events, absent from the projection
    unexpected: list[int]  # in the projection, not live in the events
    different: list[int]  # in both, with different values

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.unexpected or self.different)


def compare_projection(cursor: Cursor) -> ProjectionReport:
    """Rebuild the log projection from the events alone and compare it with the live one."""
    columns = [name for name in LOG_COLUMNS if name != "log_id"]
    differs = " OR ".join(f"rebuilt.{name} IS DISTINCT FROM live.{name}" for name in columns)
    cursor.execute(
        f"WITH rebuilt AS ({_STATE_FROM_EVENTS.format(where='TRUE')})"
        " SELECT coalesce(rebuilt.log_id, live.log_id),"
        "  CASE WHEN live.log_id IS NULL THEN 'missing' WHEN rebuilt.log_id IS NULL THEN 'unexpected'"
        "  ELSE 'different' END"
        f" FROM rebuilt FULL JOIN progress_logs AS live USING (log_id) WHERE live.log_id IS NULL"
        f"  OR rebuilt.log_id IS NULL OR {differs} ORDER BY 1"
    )
    found: dict[str, list[int]] = {"missing": [], "unexpected": [], "different": []}
    for log_id, kind in cursor.fetchall():
        found[kind].append(log_id)
    return ProjectionReport(**found)


def replace_projection(cursor: Cursor) -> int:
    """Replace the log projection with the one the events give; returns the number of live logs."""
    cursor.execute("LOCK TABLE progress_logs IN EXCLUSIVE MODE")
    cursor.execute("DELETE FROM progress_logs")
    cursor.execute(f"INSERT INTO progress_logs ({', '.join(LOG_COLUMNS)}) {_STATE_FROM_EVENTS.format(where='TRUE')}")
    return cursor.rowcount


def reset_summaries(cursor: Cursor, checkpoint_name: str) -> None:
    """Drop the summary projection and its checkpoint: the next recompute rebuilds it from the first event."""
    cursor.execute("DELETE FROM progress_summaries")
    cursor.execute("DELETE FROM projector_checkpoints WHERE name = %s", (checkpoint_name,))


def erase_user(cursor: Cursor, user_id: str) -> dict[str, int]:
    """Remove every trace of a user for good (a privacy request): events, projections, summary, idempotency keys.

    The user's lock is taken first: writes in flight commit before (and are erased), later ones find nothing.
    """
    lock_user(cursor, user_id)
    counts = {}
    for table, key in (
        ("progress_events", "events"),
        ("progress_logs", "logs"),
        ("progress_summaries", "summaries"),
        ("idempotency_keys", "idempotency_keys"),
        ("goal_events", "goal_events"),
        ("user_goals", "goals"),
        ("user_streams", "streams"),
    ):
        cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", (user_id,))
        counts[key] = cursor.rowcount
    return counts


# --- idempotency keys ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    log: ProgressLog


def find_idempotency_key(cursor: Cursor, principal: str, key: str) -> StoredResponse | None:
    # A key is committed together with its response, so every key another transaction can see has one.
    cursor.execute(
        "SELECT request_hash, response FROM idempotency_keys"
        " WHERE principal = %s AND key = %s AND response IS NOT NULL",
        (principal, key),
    )
    row = cursor.fetchone()
    return StoredResponse(row[0], ProgressLog.model_validate(row[1])) if row else None


def claim_idempotency_key(cursor: Cursor, principal: str, key: str, user_id: str, request_hash: str) -> bool:
    """True when this transaction now owns the key. A concurrent claimer waits here until the owner commits."""
    cursor.execute(
        "INSERT INTO idempotency_keys (principal, key, user_id, request_hash) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (principal, key, user_id, request_hash),
    )
    return cursor.fetchone() is not None


def complete_idempotency_key(cursor: Cursor, principal: str, key: str, log: ProgressLog) -> None:
    cursor.execute(
        "UPDATE idempotency_keys SET response = %s WHERE principal = %s AND key = %s",
        (Json(log.model_dump(mode="json")), principal, key),
    )


def expire_idempotency_keys(cursor: Cursor, older_than: datetime) -> int:
    cursor.execute("DELETE FROM idempotency_keys WHERE created_at < %s", (older_than,))
    return cursor.rowcount


# --- summaries ---------------------------------------------------------------------------------------------------


class SummaryFacts(BaseModel):
    """What the database knows about a user's logs; the API's summary is derived from it (with today's date)."""

    log_count: int
    first_date: date | None
    last_date: date | None
    average_weight: float | None
    min_weight: float | None
    max_weight: float | None
    first_weight: float | None
    latest_weight: float | None
    average_calories: float | None
    total_calories: float
    workouts: dict[str, int]
    longest_streak: int
    last_streak: int
    goals: GoalFacts | None = None  # the user's goals and what the logs say about them (goal_store)


def summary_facts(
    cursor: Cursor, user_id: str, date_from: date | None = None, date_to: date | None = None
) -> SummaryFacts:
    return summary_facts_of_users(cursor, [user_id], date_from, date_to)[user_id]


def summary_facts_of_users(
    cursor: Cursor, user_ids: list[str], date_from: date | None = None, date_to: date | None = None
) -> dict[str, SummaryFacts]:
    """The summary facts of several users at once: three queries whatever the number of users."""
    params = {"users": user_ids, "from": date_from or date.min, "to": date_to or date.max}
    scope = "user_id = u.user_id AND date >= %(from)s AND date <= %(to)s"
    cursor.execute(
        "SELECT u.user_id, totals.*, first_log.weight_kg, latest_log.weight_kg"
        " FROM unnest(%(users)s::text[]) AS u(user_id)"
        " CROSS JOIN LATERAL (SELECT count(*), min(date), max(date), avg(weight_kg), min(weight_kg), max(weight_kg),"
        f"  avg(calories_burned), coalesce(sum(calories_burned), 0) FROM progress_logs WHERE {scope}) AS totals"
        f" LEFT JOIN LATERAL (SELECT weight_kg FROM progress_logs WHERE {scope} AND weight_kg IS NOT NULL"
        "  ORDER BY date, log_id LIMIT 1) AS first_log ON TRUE"
        f" LEFT JOIN LATERAL (SELECT weight_kg FROM progress_logs WHERE {scope} AND weight_kg IS NOT NULL"
        "  ORDER BY date DESC, log_id DESC LIMIT 1) AS latest_log ON TRUE",
        params,
    )
    totals = {row[0]: row[1:] for row in cursor.fetchall()}
    in_scope = "user_id = ANY(%(users)s) AND date >= %(from)s AND date <= %(to)s"
    cursor.execute(
        "SELECT user_id, lower(btrim(workout_done)), count(*) FROM progress_logs"
        f" WHERE {in_scope} AND workout_done IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    )
    workouts: dict[str, dict[str, int]] = {user_id: {} for user_id in user_ids}
    for user_id, kind, count in cursor.fetchall():
        workouts[user_id][kind] = count
    # Gaps and islands: a user's consecutive distinct dates share (date - row_number); each island is a streak.
    cursor.execute(
        f"WITH days AS (SELECT DISTINCT user_id, date FROM progress_logs WHERE {in_scope}),"
        " islands AS (SELECT user_id, date,"
        "  date - (row_number() OVER (PARTITION BY user_id ORDER BY date))::int AS island FROM days),"
        " streaks AS (SELECT user_id, max(date) AS last_day, count(*) AS length FROM islands GROUP BY user_id, island)"
        " SELECT DISTINCT ON (user_id) user_id, max(length) OVER (PARTITION BY user_id), length"
        " FROM streaks ORDER BY user_id, last_day DESC",
        params,
    )
    streaks = {user_id: (longest, last) for user_id, longest, last in cursor.fetchall()}
    facts = {}
    for user_id in user_ids:
        (
            count,
            first_date,
            last_date,
            avg_weight,
            min_weight,
            max_weight,
            avg_calories,
            total_calories,
            first_weight,
            latest_weight,
        ) = totals[user_id]
        longest, last_streak = streaks.get(user_id, (0, 0))
        facts[user_id] = SummaryFacts(
            log_count=count,
            first_date=first_date,
            last_date=last_date,
            average_weight=avg_weight,
            min_weight=min_weight,
            max_weight=max_weight,
            first_weight=first_weight,
            latest_weight=latest_weight,
            average_calories=avg_calories,
            total_calories=total_calories,
            workouts=workouts[user_id],
            longest_streak=longest,
            last_streak=last_streak,
        )
    return facts


def stream_versions(cursor: Cursor, user_ids: list[str]) -> dict[str, int]:
    """Each user's stream version (0 for a user with no events)."""
    cursor.execute("SELECT user_id, version FROM user_streams WHERE user_id = ANY(%s)", (user_ids,))
    return {user_id: 0 for user_id in user_ids} | dict(cursor.fetchall())


def lock_streams_for_reading(cursor: Cursor, user_ids: list[str]) -> dict[str, int]:
    """The stream versions of those users who have a stream, each locked against writes and erasure until the
    transaction ends (shared: readers do not wait for each other). An erased user has none: nothing is stored for them.
    """
    cursor.execute(
        "SELECT user_id, version FROM user_streams WHERE user_id = ANY(%s) ORDER BY user_id FOR SHARE", (user_ids,)
    )
    return dict(cursor.fetchall())


def current_summary(cursor: Cursor, user_id: str) -> SummaryFacts | None:
    """The stored summary if it was computed at the user's present stream version (read in one statement)."""
    cursor.execute(
        "SELECT s.facts FROM progress_summaries AS s JOIN user_streams AS u USING (user_id)"
        " WHERE s.user_id = %s AND s.stream_version = u.version",
        (user_id,),
    )
    row = cursor.fetchone()
    return SummaryFacts.model_validate(row[0]) if row else None


def stored_summary(cursor: Cursor, user_id: str) -> tuple[int, SummaryFacts] | None:
    cursor.execute("SELECT stream_version, facts FROM progress_summaries WHERE user_id = %s", (user_id,))
    row = cursor.fetchone()
    return (row[0], SummaryFacts.model_validate(row[1])) if row else None


def save_summaries(cursor: Cursor, summaries: dict[str, tuple[int, SummaryFacts]], at: datetime) -> None:
    """Store summaries unless newer ones are already there (two computations may race; the newer wins)."""
    if not summaries:
        return
    execute_values(
        cursor,
        "INSERT INTO progress_summaries (user_id, stream_version, facts, computed_at) VALUES %s"
        " ON CONFLICT (user_id) DO UPDATE SET stream_version = EXCLUDED.stream_version, facts = EXCLUDED.facts,"
        "  computed_at = EXCLUDED.computed_at WHERE progress_summaries.stream_version <= EXCLUDED.stream_version",
        [
            (user_id, version, Json(facts.model_dump(mode="json")), at)
            for user_id, (version, facts) in summaries.items()
        ],
    )


# --- following the event log -------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Checkpoint:
    tx_id: int
    position: int


START = Checkpoint(0, 0)


def read_checkpoint(cursor: Cursor, name: str) -> Checkpoint:
    cursor.execute("SELECT tx_id::text::bigint, position FROM projector_checkpoints WHERE name = %s", (name,))
    row = cursor.fetchone()
    return Checkpoint(*row) if row else START


def save_checkpoint(cursor: Cursor, name: str, checkpoint: Checkpoint, at: datetime) -> None:
    cursor.execute(
        "INSERT INTO projector_checkpoints (name, tx_id, position, updated_at) VALUES (%s, %s::text::xid8, %s, %s)"
        " ON CONFLICT (name) DO UPDATE SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position,"
        "  updated_at = EXCLUDED.updated_at",
        (name, str(checkpoint.tx_id), checkpoint.position, at),
    )


def events_after(cursor: Cursor, checkpoint: Checkpoint, limit: int) -> list[tuple[Checkpoint, str]]:
    """The next events after `checkpoint` in (transaction id, position) order, as (checkpoint, user_id) pairs.

    Only events of transactions older than every transaction still running are read: any event committed later
    belongs to a transaction at or above that horizon, so it sorts after everything returned here and can never
    be skipped, although positions are handed out before commit.
    """
    cursor.execute(
        "SELECT tx_id::text::bigint, position, user_id FROM progress_events"
        " WHERE (tx_id, position) > (%s::text::xid8, %s) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())"
        " ORDER BY tx_id, position LIMIT %s",
        (str(checkpoint.tx_id), checkpoint.position, limit),
    )
    return [(Checkpoint(tx_id, position), user_id) for tx_id, position, user_id in cursor.fetchall()]
