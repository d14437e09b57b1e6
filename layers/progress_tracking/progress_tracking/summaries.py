"""The summary projection: kept current by the scheduled recompute, and never served stale."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from progress_tracking import goals, idempotency
from progress_tracking.db import Cursor, Database, one_row
from progress_tracking.models.summary import Summary
from progress_tracking.observability import logger
from progress_tracking.store import checkpoints, streams
from progress_tracking.store import goals as goal_store
from progress_tracking.store import summaries as summary_store
from progress_tracking.store.summaries import SummaryFacts

CHECKPOINT = "summaries"
# Each batch is one transaction that takes this lock: a second run at the same time finds it taken and stops.
RECOMPUTE_LOCK_KEY = 7_146_251_002
BATCH_SIZE = 1000
# Stop starting batches when less than this is left of the invocation, so a batch never dies half-way for time.
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


def refresh(cursor: Cursor, user_ids: list[str], at: datetime) -> dict[str, SummaryFacts]:
    """Recompute users' summaries from the live logs and store each with the stream version it reflects.

    The users' streams are locked (shared) first, so no write or erasure of theirs commits while the facts are read
    and stored; a user without a stream (never logged, or erased) gets no stored summary.
    """
    versions = streams.lock_streams_for_reading(cursor, user_ids)
    facts = summary_store.summary_facts_of_users(cursor, user_ids)
    goal_facts = goal_store.goal_facts_of_users(cursor, user_ids)
    facts = {user_id: facts[user_id].model_copy(update={"goals": goal_facts.get(user_id)}) for user_id in user_ids}
    summary_store.save_summaries(cursor, {user_id: (versions[user_id], facts[user_id]) for user_id in versions}, at)
    return facts


def current_facts(cursor: Cursor, user_id: str) -> SummaryFacts:
    """The stored summary if it reflects the user's latest event, else a fresh one (stored on the way)."""
    stored = summary_store.current_summary(cursor, user_id)
    if stored is not None:
        return stored
    return refresh(cursor, [user_id], datetime.now(UTC))[user_id]


@dataclass
class RecomputeReport:
    batches: int = 0
    events: int = 0
    users: int = 0
    expired_idempotency_keys: int = 0
    finished: bool = False  # False: stopped for time, or another run holds the lock
    busy: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def recompute(database: Database, remaining_ms: Callable[[], int], batch_size: int = BATCH_SIZE) -> RecomputeReport:
    """Bring the summaries of every user with events after the checkpoint up to date, batch by batch.

    Each batch reads events after the checkpoint, recomputes the summaries of their users and moves the checkpoint,
    all in one transaction: a run killed half-way loses at most its current batch, and the next run resumes there.
    """
    report = RecomputeReport()
    while remaining_ms() > SAFETY_MARGIN_MS:
        outcome = database.run(lambda cursor: _batch(cursor, batch_size))
        if outcome is None:
            report.busy = True
            break
        events, users = outcome
        report.batches += 1
        report.events += events
        report.users += users
        if events < batch_size:
            report.finished = True
            break
    if report.finished:
        now = datetime.now(UTC)
        report.expired_idempotency_keys = database.run(lambda cursor: idempotency.expire(cursor, now))
    logger.info("Summaries recomputed", extra=report.as_dict())
    return report


def _batch(cursor: Cursor, batch_size: int) -> tuple[int, int] | None:
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", (RECOMPUTE_LOCK_KEY,))
    if not one_row(cursor)[0]:
        return None
    checkpoint = checkpoints.read_checkpoint(cursor, CHECKPOINT)
    events = checkpoints.events_after(cursor, checkpoint, batch_size)
    if not events:
        return 0, 0
    now = datetime.now(UTC)
    users = sorted({user_id for _, user_id in events})
    refresh(cursor, users, now)
    checkpoints.save_checkpoint(cursor, CHECKPOINT, events[-1][0], now)
    return len(events), len(users)
