"""The change feed: a user's log and goals changes after a token, in stream order, for clients that sync offline.

A page is one statement (store.change_feed) with its key; the token is checked against that key before anything is
answered, then the stream it names against the user's (an erasure since: 410, resync).
"""

from __future__ import annotations

from progress_tracking import authz, change_tokens, paging
from progress_tracking.authz import Identity
from progress_tracking.db import Database
from progress_tracking.models.change import Change, ChangeKind, ChangesPage, ChangesQuery, DeletedLog, GoalsState
from progress_tracking.models.log import ProgressLog
from progress_tracking.store import change_feed
from progress_tracking.store.change_feed import FeedEvent

KINDS: dict[tuple[str, str], ChangeKind] = {
    ("log", "logged"): "log_created",
    ("log", "updated"): "log_updated",
    ("log", "deleted"): "log_deleted",
    ("log", "restored"): "log_restored",
    ("goals", "set"): "goals_set",
    ("goals", "changed"): "goals_changed",
    ("goals", "cleared"): "goals_cleared",
}


def change(user_id: str, event: FeedEvent) -> Change:
    """The feed's item for an event: the log's state as of it (a tombstone for a deletion), or the goals'."""
    kind = KINDS[(event.stream, event.event_type)]
    log: ProgressLog | DeletedLog | None = None
    goals = None
    if event.stream == "goals":
        goals = GoalsState.model_validate(
            {**event.data, "user_id": user_id, "version": event.version, "updated_at": event.occurred_at}
        )
    elif kind == "log_deleted":
        log = DeletedLog(log_id=event.log_id)
    else:
        # The event's data is the log's fields (whatever fields a log has: those a log answers are kept); the rest
        # is the event's own.
        log = ProgressLog.model_validate(
            {
                **event.data,
                "log_id": event.log_id,
                "user_id": user_id,
                "version": event.version,
                "created_at": event.created_at,
                "updated_at": event.occurred_at,
            }
        )
    return Change(
        kind=kind,
        stream_position=event.stream_position,
        occurred_at=event.occurred_at,
        log_id=event.log_id,
        log=log,
        goals=goals,
    )


def changes(database: Database, caller: Identity, user_id: str, query: ChangesQuery) -> ChangesPage:
    authz.ensure_may_act_for(caller, user_id)
    place, signature = change_tokens.read(query.since) if query.since else (change_tokens.BEGINNING, None)
    # One row more than asked tells whether another page follows.
    read = database.single(lambda cursor: change_feed.read_after(cursor, user_id, place.position, query.limit + 1))
    if signature is not None:
        change_tokens.verify(read.key, user_id, place, signature)
    change_tokens.ensure_same_stream(place, read.first_position)
    page, more = paging.fit([change(user_id, event) for event in read.events], query.limit)
    last = change_tokens.FeedPlace(
        epoch=read.first_position or 0, position=page[-1].stream_position if page else place.position
    )
    return ChangesPage(
        user_id=user_id, changes=page, next_token=change_tokens.issue(read.key, user_id, last), more=more
    )
