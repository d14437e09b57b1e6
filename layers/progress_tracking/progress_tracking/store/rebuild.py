"""Rebuilding projections from the events alone: the log projection compared or replaced, the summaries reset."""

from __future__ import annotations

from dataclasses import dataclass

from progress_tracking.db import Cursor
from progress_tracking.store.columns import LOG_COLUMNS, STATE_FROM_EVENTS


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
        f"WITH rebuilt AS ({STATE_FROM_EVENTS.format(where='TRUE')})"
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
    cursor.execute(f"INSERT INTO progress_logs ({', '.join(LOG_COLUMNS)}) {STATE_FROM_EVENTS.format(where='TRUE')}")
    return cursor.rowcount


def reset_summaries(cursor: Cursor, checkpoint_name: str) -> None:
    """Drop the summary projection and its checkpoint: the next recompute rebuilds it from the first event."""
    cursor.execute("DELETE FROM progress_summaries")
    cursor.execute("DELETE FROM projector_checkpoints WHERE name = %s", (checkpoint_name,))
