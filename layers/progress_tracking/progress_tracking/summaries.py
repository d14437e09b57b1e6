"""The summary projection: kept current by the scheduled recompute, and never served stale."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from progress_tracking import goals, idempotency
from progress_tracking.db import Cursor, Database, one_row
from progress_tracking.models.summary import Summary
from progress_tracking.observability import logger
from progress_tracking.store import checkpoints
from progress_tracking.store import summaries as summary_store
from progress_tracking.store.summaries import SummaryFacts

CHECKPOINT = "summaries"
# A run holds this lock in a transaction of its own for as long as it works on a window of users: a second run at the
# same time finds it taken and stops.
RECOMPUTE_LOCK_KEY = 7_146_251_002
# A window of about this many changed users is read at once; they are recomputed this many per transaction.
WINDOW_USERS = 100_000
CHUNK_USERS = 1000
# Stop starting chunks when less than this is left of the invocation, so a chunk never dies half-way for time.
SAFETY_MARGIN_MS = 20_000


def summary_from_facts(user_id: str, facts: SummaryFacts, today: date) -> Summary:
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
        goals=None if facts.goals is None else goals.progress(facts.goals, today),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def refresh(cursor: Cursor, user_ids: list[str], at: datetime) -> int:
    """Recompute and store the summaries of those users whose stored one is behind their stream, set-based, in one
    statement; how many were recomputed. Stored only at the version computed at, never for an erased user, and
    without making a writer wait (store.summaries)."""
    return summary_store.refresh_stale(cursor, user_ids, at)


def current_facts(cursor: Cursor, user_id: str) -> SummaryFacts:
    """The stored summary if it reflects the user's latest event, else fresh facts, stored on the way: one statement."""
    return summary_store.current_or_fresh(cursor, user_id, datetime.now(UTC))


@dataclass
class RecomputeReport:
    batches: int = 0  # transactions that recomputed a chunk of users
    changed: int = 0  # users whose streams moved after the checkpoint
    users: int = 0  # users recomputed (the changed ones whose stored summary was behind)
    expired_idempotency_keys: int = 0
    finished: bool = False  # False: stopped for time, or another run holds the lock
    busy: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def recompute(
    database: Database,
    remaining_ms: Callable[[], int],
    chunk_users: int = CHUNK_USERS,
    window_users: int = WINDOW_USERS,
    connections: int = 1,
) -> RecomputeReport:
    """Bring the summaries of every user whose stream moved after the checkpoint up to date.

    Every write moves its user's stream and records its transaction there (store.streams.MOVE_STREAM), so the users
    to recompute are the streams moved after the checkpoint's transaction, read from their index below the horizon
    (nothing is ever skipped: store.checkpoints), one row per user however many events they wrote. A window of them
    is read in a transaction that holds the run's lock until the window is done; they are recomputed set-based in
    chunks of `chunk_users`, one transaction each, on up to `connections` more connections at once (a user's facts
    depend on that user's data only), skipping any whose summary is current already. When every chunk has committed,
    the lock's transaction moves the checkpoint past the window and commits. A run killed half-way leaves the
    checkpoint where it was: the next one reads the same window and recomputes only the users it had not reached (the
    others are current). Cost: the changed users' data, once per run.
    """
    report = RecomputeReport()
    while not report.busy and remaining_ms() > SAFETY_MARGIN_MS:
        window = database.run(
            lambda cursor: _window(cursor, database, remaining_ms, report, chunk_users, window_users, connections)
        )
        if window is None:
            break  # out of time, or another run holds the lock
        if not window.full:
            report.finished = True
            break
    if report.finished:
        now = datetime.now(UTC)
        report.expired_idempotency_keys = database.run(lambda cursor: idempotency.expire(cursor, now))
    logger.info("Summaries recomputed", extra=report.as_dict())
    return report


def _window(
    cursor: Cursor,
    database: Database,
    remaining_ms: Callable[[], int],
    report: RecomputeReport,
    chunk_users: int,
    window_users: int,
    connections: int,
) -> checkpoints.ChangedStreams | None:
    """In the transaction that holds the run's lock: the next window, its users recomputed, then the checkpoint moved
    past it; None (nothing moved) if another run holds the lock or time ran out first."""
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", (RECOMPUTE_LOCK_KEY,))
    if not one_row(cursor)[0]:
        report.busy = True
        return None
    window = checkpoints.changed_streams(cursor, checkpoints.read_checkpoint(cursor, CHECKPOINT), window_users)
    report.changed += len(window.users)
    users = window.users
    chunks = [users[start : start + chunk_users] for start in range(0, len(users), chunk_users)]
    recomputed = _recompute_chunks(database, chunks, connections, remaining_ms)
    report.batches += len(recomputed)
    report.users += sum(recomputed)
    if len(recomputed) < len(chunks):
        return None
    if window.end is not None:
        checkpoints.save_checkpoint(cursor, CHECKPOINT, window.end, datetime.now(UTC))
    return window


def _recompute_chunks(
    database: Database, chunks: list[list[str]], connections: int, remaining_ms: Callable[[], int]
) -> list[int]:
    """Recompute the chunks, one transaction each, on up to `connections` threads with a connection each (closed when
    done: the scheduled function keeps only its own); how many users each chunk recomputed, for the chunks that ran.
    No chunk starts with less than the safety margin left; the first error stops every thread and is raised."""
    pending = deque(chunks)
    recomputed: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    chunk = pending.popleft()
                except IndexError:
                    return
                if remaining_ms() <= SAFETY_MARGIN_MS:
                    stop.set()
                    return
                recomputed.append(database.run(lambda cursor: refresh(cursor, chunk, datetime.now(UTC))))  # noqa: B023
        except BaseException as exc:  # handed to the caller's thread
            failures.append(exc)
            stop.set()
        finally:
            database.close()

    threads = [threading.Thread(target=work, name=f"recompute-{n}") for n in range(min(connections, len(chunks)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return recomputed
