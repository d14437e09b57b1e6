"""The summary projection: read (never stale: a reader brings it up to date first) and kept current by the scheduled
recompute, which follows the users' streams. What a summary says is summary_figures'."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from progress_tracking import authz
from progress_tracking.authz import Identity
from progress_tracking.db import Cursor, Database, one_row
from progress_tracking.models.summary import Summary, SummaryQuery
from progress_tracking.observability import logger
from progress_tracking.store import checkpoints, idempotency_keys, lag, summary_facts
from progress_tracking.store.statements import statement
from progress_tracking.summary_figures import summary_from_facts

CHECKPOINT = "summaries"
# A run holds this lock for as long as it works, in a transaction of its own that reads no table: a second run at the
# same time finds it taken and stops. That transaction sits idle meanwhile; its idle limit is the run's time plus a
# margin, and at most 15 minutes (a run by hand that outlasts it only lets a second run overlap: harmless, as every
# store is version-guarded and the checkpoint only moves forward).
RECOMPUTE_LOCK_KEY = 7_146_251_002
LOCK_IDLE_MARGIN_MS = 30_000
LOCK_IDLE_LIMIT_MS = 900_000
# A window of about this many changed users is read at once; they are recomputed this many per transaction.
WINDOW_USERS = 100_000
CHUNK_USERS = 1000
# Stop starting chunks when less than this is left of the invocation, so a chunk never dies half-way for time: a
# worker's connect (2 x 2 s), a chunk's statement (BATCH_STATEMENT_TIMEOUT_MS, 30 s) and the client's margin.
SAFETY_MARGIN_MS = 40_000


def summarize(
    database: Database, caller: Identity, user_id: str, query: SummaryQuery, today: date | None = None
) -> Summary:
    """A user's summary: the stored one if it reflects the user's latest event, else facts folded afresh and stored
    on the way; over a date range, computed from its logs and never stored. One round trip either way."""
    authz.ensure_may_act_for(caller, user_id)
    if query.date_from or query.date_to:
        facts = database.single(
            lambda cursor: summary_facts.facts_in_range(cursor, user_id, query.date_from, query.date_to)
        )
    else:
        facts = database.single(lambda cursor: summary_facts.current_or_fresh(cursor, user_id, datetime.now(UTC)))
    return summary_from_facts(user_id, facts, today or datetime.now(UTC).date())


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

    Every write moves its user's stream, and the stream row records the transaction that moved it (a trigger,
    migration 0008), so the users to recompute are the streams moved after the checkpoint, read from their index
    below the horizon (nothing is ever skipped: store.checkpoints), one row per user however many events they wrote,
    up to `window_users` at a time. They are recomputed set-based in chunks of `chunk_users`, one transaction each, on
    up to `connections` connections at once (a user's facts depend on that user's data only), skipping any whose
    summary is current already; when every chunk of a window has committed, the checkpoint moves past it. All under
    the run's lock (`_run_lock`). A run killed half-way leaves the checkpoint where it was: the next one reads the
    same window and recomputes only the users it had not reached (the others are current). Cost: the changed users'
    data, once per run.
    """
    report = RecomputeReport()
    with _run_lock(database, remaining_ms) as locked:
        report.busy = not locked
        while locked and remaining_ms() > SAFETY_MARGIN_MS:
            window = database.run(
                lambda cursor: checkpoints.changed_streams(
                    cursor, checkpoints.read_checkpoint(cursor, CHECKPOINT), window_users
                )
            )
            report.changed += len(window.users)
            users = window.users
            chunks = [users[start : start + chunk_users] for start in range(0, len(users), chunk_users)]
            recomputed = _recompute_chunks(database, chunks, connections, remaining_ms)
            report.batches += len(recomputed)
            report.users += sum(recomputed)
            if len(recomputed) < len(chunks):
                break  # out of time
            database.run(partial(_move_checkpoint, end=window.end))
            if not window.full:
                report.finished = True
                break
    if report.finished:
        now = datetime.now(UTC)
        report.expired_idempotency_keys = database.run(lambda cursor: idempotency_keys.expire(cursor, now))
    logger.info("Summaries recomputed", extra=report.as_dict())
    return report


def seconds_behind(database: Database, name: str = CHECKPOINT) -> float:
    """How long the oldest change no stored summary reflects has waited for the recompute (0: none); the deployed
    recompute writes it after every run, RecomputeLag (store.lag)."""
    return database.run(lambda cursor: lag.recompute_seconds_behind(cursor, checkpoints.read_checkpoint(cursor, name)))


def reset(cursor: Cursor) -> None:
    """Drop the summary projection and its checkpoint (the next run recomputes every user), once a run in progress
    has finished: a run that read its window before the reset would otherwise move the checkpoint past the users the
    reset left without a summary. Waits for the run's lock (within the unit of work's lock timeout)."""
    # Imported here: the summary's GET loads this module, and never resets.
    from progress_tracking.store import rebuild

    cursor.execute(statement("advisory_lock"), {"key": RECOMPUTE_LOCK_KEY})
    rebuild.reset_summaries(cursor, CHECKPOINT)


def _move_checkpoint(cursor: Cursor, end: checkpoints.Checkpoint) -> None:
    checkpoints.save_checkpoint(cursor, CHECKPOINT, end, datetime.now(UTC))


@contextmanager
def _run_lock(database: Database, remaining_ms: Callable[[], int]) -> Iterator[bool]:
    """Whether this run got the recompute's advisory lock, held for the block by a transaction on a thread (and
    connection) of its own. That transaction reads no table, so nothing else ever waits for it (a migration included),
    and it holds no snapshot or transaction id, so it never holds back the followers' horizon. Its idle limit is the
    run's time plus a margin, overriding any shorter one the server or role sets, and freeing the lock if this
    container dies."""
    idle_limit_ms = min(remaining_ms() + LOCK_IDLE_MARGIN_MS, LOCK_IDLE_LIMIT_MS)
    answered, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {"locked": False}

    def hold(cursor: Cursor) -> None:
        cursor.execute(
            statement("try_recompute_lock"), {"key": RECOMPUTE_LOCK_KEY, "idle_limit_ms": str(int(idle_limit_ms))}
        )
        outcome["locked"] = bool(one_row(cursor)[0])
        answered.set()
        if outcome["locked"]:
            release.wait()

    def holder() -> None:
        try:
            database.run(hold)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            answered.set()
            database.close()

    thread = threading.Thread(target=holder, name="recompute-lock")
    try:
        thread.start()
        answered.wait()
        if "error" in outcome:
            raise outcome["error"]
        yield outcome["locked"]
    finally:
        release.set()
        if thread.is_alive():
            thread.join()
        if outcome["locked"] and "error" in outcome:  # the work is committed; only the lock was lost on the way
            logger.warning("The recompute's lock ended badly", extra={"error": type(outcome["error"]).__name__})


def _recompute_chunks(
    database: Database, chunks: list[list[str]], connections: int, remaining_ms: Callable[[], int]
) -> list[int]:
    """Recompute the chunks, one transaction each; how many users each chunk recomputed, for the chunks that ran. No
    chunk starts with less than the safety margin left. One chunk (an incremental run's usual lot) or one connection:
    on the caller's warm connection. Several: on up to `connections` threads with a connection each, closed when done
    (the function keeps only its own); the first error stops every thread and is raised."""
    pending = deque(chunks)
    recomputed: list[int] = []

    def refresh(chunk: list[str]) -> int:
        return database.run(lambda cursor: summary_facts.refresh_stale(cursor, chunk, datetime.now(UTC)))

    def next_chunk() -> list[str] | None:
        try:
            chunk = pending.popleft()
        except IndexError:
            return None
        return chunk if remaining_ms() > SAFETY_MARGIN_MS else None

    if connections == 1 or len(chunks) == 1:
        while (chunk := next_chunk()) is not None:
            recomputed.append(refresh(chunk))
        return recomputed

    failures: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set() and (chunk := next_chunk()) is not None:
                recomputed.append(refresh(chunk))
        except BaseException as exc:  # handed to the caller's thread
            failures.append(exc)
        finally:
            stop.set()  # out of chunks, out of time or failed: the others stop after their current chunk
            database.close()

    threads = [threading.Thread(target=work, name=f"recompute-{n}") for n in range(min(connections, len(chunks)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return recomputed
