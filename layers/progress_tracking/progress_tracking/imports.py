"""An import: a file read and validated whole (import_files), then its logs written through the batch upsert and its
goals set, all in one transaction, or, for a dry run, the plan of what that would do, writing nothing.

The logs go to the store's upsert (`progress_upsert_logs`, the batch upsert's statement) 500 at a time in one
transaction under the user's lock, so an import is all or nothing whatever its size (at most MAX_IMPORT_LOGS): a
failure half-way leaves no half-imported file. Each log's client record id names its row in the file, so importing
the same file twice changes nothing; goals are written only when they differ from the user's.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from progress_tracking import authz, import_files
from progress_tracking.authz import Identity
from progress_tracking.db import Cursor, Database
from progress_tracking.errors import UnknownUser
from progress_tracking.import_files import FileLog, ImportFile
from progress_tracking.models.export import GoalsOutcome, ImportedGoals, ImportItem, ImportQuery, ImportResult
from progress_tracking.models.goal import GOAL_FIELDS
from progress_tracking.models.upsert import MAX_BATCH_ITEMS, Outcome
from progress_tracking.store import goal_events, importing, upserting
from progress_tracking.store.appending import Change

if TYPE_CHECKING:
    from progress_tracking.user_service import UserServiceClient


def import_file(
    database: Database,
    users: UserServiceClient,
    caller: Identity,
    user_id: str,
    query: ImportQuery,
    text: str,
    content_type: str | None,
    request_id: str | None,
) -> ImportResult:
    authz.ensure_may_act_for(caller, user_id)
    file = import_files.read_file(text, query.format, content_type)
    # Asked once, before the transaction opens: no connection is held while another service answers.
    if not users.user_exists(user_id):
        raise UnknownUser()
    if query.dry_run:
        found = database.single(lambda cursor: _find(cursor, user_id, file))
        return _result(user_id, file, True, _plan(file, found), _goals_outcome(file.goals, found.goals))
    change = Change(actor=caller.principal, request_id=request_id)
    return database.run(lambda cursor: _write(cursor, user_id, file, change))


def _find(cursor: Cursor, user_id: str, file: ImportFile) -> importing.Found:
    log_ids = [log.exported_log_id for log in file.logs if log.exported_log_id is not None]
    return importing.find(cursor, user_id, [_record_key(log) for log in file.logs], log_ids)


def _record_key(log: FileLog) -> tuple[str, str]:
    """The client record a log of the file names: its id under its source (the record's key, with the user)."""
    return log.log.source, str(log.log.client_record_id)


def _plan(file: ImportFile, found: importing.Found) -> list[tuple[Outcome, int | None]]:
    """Each log's outcome as the upsert would decide it (migration 0019), with the log it would write or leave; a log
    of the user's own export that is still live is that log, unchanged."""
    plan: list[tuple[Outcome, int | None]] = []
    for log in file.logs:
        record = found.records.get(_record_key(log))
        if log.exported_log_id in found.live_log_ids:
            plan.append(("unchanged", log.exported_log_id))
        elif record is None:
            plan.append(("created", None))
        elif int(log.log.client_version or 0) <= record.client_version:
            plan.append(("unchanged", record.log_id))
        else:
            plan.append(("restored" if record.deleted else "updated", record.log_id))
    return plan


def _write(cursor: Cursor, user_id: str, file: ImportFile, change: Change) -> ImportResult:
    own = _find(cursor, user_id, file).live_log_ids
    kept: list[tuple[Outcome, int | None]] = [("unchanged", log.exported_log_id) for log in file.logs]
    items = [log for log in file.logs if log.exported_log_id not in own]
    written_outcomes: list[tuple[Outcome, int | None]] = []
    for start in range(0, len(items), MAX_BATCH_ITEMS):
        # The first batch takes the user's lock; it is held to the COMMIT, so the batches are one write.
        batch = [log.log for log in items[start : start + MAX_BATCH_ITEMS]]
        written = upserting.upsert_logs(cursor, user_id, batch, change, None)
        written_outcomes += [(item.outcome, item.log.log_id) for item in written.items]
    outcomes = iter(written_outcomes)
    done = [next(outcomes) if log.exported_log_id not in own else kept[n] for n, log in enumerate(file.logs)]
    goals = None
    if file.goals is not None:
        current = goal_events.read(cursor, user_id)
        goals = _goals_outcome(file.goals, None if current is None else current.model_dump(include=set(GOAL_FIELDS)))
        if goals != "unchanged":
            goal_events.write(cursor, user_id, file.goals.model_dump(), change.actor, change.request_id)
    return _result(user_id, file, False, done, goals)


def _goals_outcome(goals: ImportedGoals | None, current: dict[str, Any] | None) -> GoalsOutcome | None:
    if goals is None:
        return None
    if current is None:
        return "created"
    same = ImportedGoals.model_validate(current) == goals
    return "unchanged" if same else "updated"


def _result(
    user_id: str,
    file: ImportFile,
    dry_run: bool,
    outcomes: list[tuple[Outcome, int | None]],
    goals: GoalsOutcome | None,
) -> ImportResult:
    counts = Counter(outcome for outcome, _ in outcomes)
    verb = "would be" if dry_run else "were"
    return ImportResult(
        message=f"{len(outcomes)} logs read: {counts['created']} {verb} created, {counts['updated']} updated, "
        f"{counts['restored']} restored, {counts['unchanged']} left unchanged",
        user_id=user_id,
        format=file.format,
        dry_run=dry_run,
        created=counts["created"],
        updated=counts["updated"],
        restored=counts["restored"],
        unchanged=counts["unchanged"],
        goals=goals,
        items=[
            ImportItem(
                **log.where,
                client_record_id=str(log.log.client_record_id),
                outcome=outcome,
                log_id=log_id,
            )
            for log, (outcome, log_id) in zip(file.logs, outcomes, strict=True)
        ],
    )
