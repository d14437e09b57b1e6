"""Hard erasure of a user (a privacy request): every trace of them, removed for good under their lock, and the tombstone
that publishes the erasure."""

from __future__ import annotations

from progress_tracking.db import Cursor, one_row, rows_by_name
from progress_tracking.store import checkpoints, relay_log
from progress_tracking.store.statements import statement


def erase_user(cursor: Cursor, user_id: str) -> dict[str, int]:
    """Remove every trace of a user for good: events, projections (the logs' states in time included; the logs'
    triggers remove the facts kept from them), summary, idempotency keys, goals, stream, and their name as a
    follower's place; then leave the tombstone that publishes the erasure (`UserProgressErased`) in the user's order.
    How many rows each table held, by name (events, logs, log_versions, summaries, idempotency_keys, goal_events,
    goals, streams).

    The user's lock is taken first: writes in flight commit before (and are erased), later ones find nothing. A user
    with no stream gets one for the erasure to lock (and delete with the rest, uncounted): otherwise a first write
    racing the erasure took no lock at all, and the events the erasure had already deleted were back without their log.
    """
    cursor.execute(statement("lock_user_for_erasure"), {"user_id": user_id})
    created, release_tx = one_row(cursor)
    cursor.execute(statement("erase_user"), {"user_id": user_id})
    (counts,) = rows_by_name(cursor)
    counts["streams"] -= int(created)
    checkpoints.forget_user(cursor, user_id)
    relay_log.record_erasure(cursor, user_id, counts, release_tx)
    return counts
