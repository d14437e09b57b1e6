"""How far behind the two followers of the log are, in seconds: the outbox relay and the summary recompute. Every run
of each writes its lag as a metric (RelayLag, RecomputeLag), and the alarms watch it.

Both read what the follower has yet to do after its checkpoint, committed whether or not it is below the horizon yet:
a long transaction that holds the horizon back shows as lag growing, which is what the operator needs to see.
"""

from __future__ import annotations

from progress_tracking.db import Cursor, one_row
from progress_tracking.store.checkpoints import Checkpoint
from progress_tracking.store.statements import statement


def relay_seconds_behind(cursor: Cursor, checkpoint: Checkpoint) -> float:
    """The age of the oldest committed event the relay at `checkpoint` has not published; 0 when it has them all."""
    cursor.execute(statement("relay_lag"), {"tx_id": str(checkpoint.tx_id), "position": checkpoint.position})
    return max(float(one_row(cursor)[0]), 0.0)


def recompute_seconds_behind(cursor: Cursor, checkpoint: Checkpoint) -> float:
    """The age of the oldest change no stored summary reflects, among the streams the recompute at `checkpoint` will
    follow next; 0 when none is stale."""
    cursor.execute(statement("recompute_lag"), {"tx_id": str(checkpoint.tx_id), "user_id": checkpoint.user_id})
    return max(float(one_row(cursor)[0]), 0.0)
