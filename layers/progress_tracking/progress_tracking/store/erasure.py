"""Hard erasure of a user (a privacy request): every trace of them, removed for good under their lock, and the tombstone
that publishes the erasure."""

from __future__ import annotations

from progress_tracking.db import Cursor, one_row
from progress_tracking.store import checkpoints
from progress_tracking.store import outbox as store_outbox

# Every table that holds a user's data, and the name its count is reported under.
USER_TABLES = (
    ("progress_events", "events"),
    ("progress_logs", "logs"),
    ("progress_log_versions", "log_versions"),
    ("progress_summaries", "summaries"),
    ("idempotency_keys", "idempotency_keys"),
    ("goal_events", "goal_events"),
    ("user_goals", "goals"),
    ("user_streams", "streams"),
)


def erase_user(cursor: Cursor, user_id: str) -> dict[str, int]:
    """Remove every trace of a user for good: events, projections (the logs' states in time included; the logs'
    triggers remove the facts kept from them), summary, idempotency keys, goals, stream, and their name as a
    follower's place; then leave the tombstone that publishes the erasure (`UserProgressErased`) in the user's order.

    The user's lock is taken first: writes in flight commit before (and are erased), later ones find nothing. A user
    with no stream gets one for the erasure to lock (and delete with the rest, uncounted): otherwise a first write
    racing the erasure took no lock at all, and the events the erasure had already deleted were back without their log.
    """
    # The lock, held exclusively; a user with no stream gets one to lock (deleted with the rest, uncounted).
    cursor.execute(
        "SELECT created, release_tx FROM progress_lock_user(%(user_id)s, p_erasing => true)", {"user_id": user_id}
    )
    created, release_tx = one_row(cursor)
    counts = {}
    for table, key in USER_TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", (user_id,))
        counts[key] = cursor.rowcount
    counts["streams"] -= int(created)
    checkpoints.forget_user(cursor, user_id)
    store_outbox.record_erasure(cursor, user_id, counts, release_tx)
    return counts
