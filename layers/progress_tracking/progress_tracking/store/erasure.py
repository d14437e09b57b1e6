"""Hard erasure of a user (a privacy request): every trace of them, removed for good under their lock, and the tombstone
that publishes the erasure."""

from __future__ import annotations

from progress_tracking.db import Cursor
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
    cursor.execute(
        "INSERT INTO user_streams (user_id, version) VALUES (%s, 0) ON CONFLICT (user_id) DO NOTHING RETURNING 1",
        (user_id,),
    )
    created = cursor.rowcount
    # The lock, held exclusively; the row as locked is the latest, with the release_tx the tombstone goes on from.
    cursor.execute("SELECT release_tx::text::bigint FROM user_streams WHERE user_id = %s FOR UPDATE", (user_id,))
    locked = cursor.fetchone()
    counts = {}
    for table, key in USER_TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", (user_id,))
        counts[key] = cursor.rowcount
    counts["streams"] -= created
    checkpoints.forget_user(cursor, user_id)
    store_outbox.record_erasure(cursor, user_id, counts, locked[0] if locked else None)
    return counts
