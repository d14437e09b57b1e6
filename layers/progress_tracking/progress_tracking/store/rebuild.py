"""Rebuilding projections from the events alone: the logs and their states in time compared or replaced (the facts the
summaries fold, kept from the logs, with them), the summaries reset. What the events give is written once, in
functions of migration 0015."""

from __future__ import annotations

from dataclasses import dataclass

from progress_tracking.db import Cursor, one_row
from progress_tracking.store.statements import statement


@dataclass(frozen=True)
class ProjectionReport:
    missing: list[int]  # live in the events, absent from the projection
    unexpected: list[int]  # in the projection, not live in the events
    different: list[int]  # in both, with different values
    states_differ: list[int]  # logs whose states in time (progress_log_versions) are not the events' fold
    facts_differ: list[str]  # users whose months' or weeks' facts or workout counts are not their logs'

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.unexpected or self.different or self.states_differ or self.facts_differ)


def compare_projection(cursor: Cursor) -> ProjectionReport:
    """Rebuild the log projection and the logs' states in time from the events alone and compare them with the live
    ones, and the facts the summaries fold with the logs."""
    cursor.execute(statement("compare_logs_with_events"))
    found: dict[str, list[int]] = {"missing": [], "unexpected": [], "different": []}
    for log_id, kind in cursor.fetchall():
        found[kind].append(log_id)
    cursor.execute(statement("compare_log_versions_with_events"))
    states_differ = [row[0] for row in cursor.fetchall()]
    cursor.execute(statement("compare_log_facts_with_logs"))
    return ProjectionReport(**found, states_differ=states_differ, facts_differ=[row[0] for row in cursor.fetchall()])


def replace_projection(cursor: Cursor) -> int:
    """Replace the log projection with the one the events give, and the facts the summaries fold with those of the
    new logs; returns the number of live logs. The logs' triggers stand aside for this transaction (a setting they
    read): the facts are written once, set-based, at the end."""
    cursor.execute(statement("replace_projections"))
    return int(one_row(cursor)[0])


def reset_summaries(cursor: Cursor, checkpoint_name: str) -> None:
    """Drop the summary projection and its checkpoint: the next recompute rebuilds it from the first event."""
    cursor.execute(statement("reset_summaries"), {"checkpoint": checkpoint_name})
