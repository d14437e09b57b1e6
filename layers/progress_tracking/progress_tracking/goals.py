"""The operations on a user's goals: each applies the ownership rules, then runs one transaction on the store.
Progress toward them is goal_progress's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from progress_tracking import authz, paging
from progress_tracking.authz import Identity
from progress_tracking.db import Cursor, Database
from progress_tracking.errors import GoalsNotFound, InvalidRequest, PreconditionFailed, UnknownUser
from progress_tracking.models.goal import GoalHistory, Goals, GoalsPatch, GoalsPut, broken_goal_rule
from progress_tracking.models.log import HistoryEntry, HistoryQuery
from progress_tracking.store import goal_events

if TYPE_CHECKING:
    # Only for the signature: the User Profile client (and requests with it) loads only where a handler calls it.
    from progress_tracking.user_service import UserServiceClient


def _check_version(expected_versions: frozenset[int] | None, written: goal_events.Written) -> None:
    """If-Match: None means no condition; otherwise the goals must exist at one of the versions."""
    if expected_versions is None:
        return
    if not written.prior_active:
        raise PreconditionFailed("The user has no goals to match; nothing was written")
    if written.prior_version not in expected_versions:
        raise PreconditionFailed(f"The goals are at version {written.prior_version}; nothing was written")


def set_goals(
    database: Database,
    users: UserServiceClient,
    caller: Identity,
    user_id: str,
    body: GoalsPut,
    request_id: str | None,
    expected_versions: frozenset[int] | None = None,
) -> Goals:
    authz.ensure_may_act_for(caller, user_id)
    # Asked before the transaction opens: no database connection is held while another service answers.
    if not users.user_exists(user_id):
        raise UnknownUser()

    def work(cursor: Cursor) -> Goals:
        written = goal_events.write(cursor, user_id, body.goals(), caller.principal, request_id)
        _check_version(expected_versions, written)
        return written.goals

    return database.run(work)


def patch_goals(
    database: Database,
    users: UserServiceClient,
    caller: Identity,
    user_id: str,
    body: GoalsPatch,
    request_id: str | None,
    expected_versions: frozenset[int] | None = None,
) -> Goals:
    """Change the goals `body` names and leave the others (JSON Merge Patch), merged under the user's lock."""
    authz.ensure_may_act_for(caller, user_id)
    if not users.user_exists(user_id):
        raise UnknownUser()

    def work(cursor: Cursor) -> Goals:
        written = goal_events.patch(cursor, user_id, body.members(), caller.principal, request_id)
        _check_version(expected_versions, written)
        _check_merged(written.goals)
        return written.goals

    return database.run(work)


def _check_merged(goals: Goals) -> None:
    """The goals a patch leaves keep PUT's rules; raising rolls the write back."""
    broken = broken_goal_rule(
        goals.target_weight_kg, goals.target_date, goals.weekly_workouts, goals.weekly_calories_burned
    )
    if broken is not None:
        field, rule = broken
        raise InvalidRequest(
            f"The goals after this patch would break a rule: {rule}; nothing was written",
            details=[{"field": field, "message": rule, "type": "value_error"}],
        )


def clear_goals(
    database: Database,
    caller: Identity,
    user_id: str,
    request_id: str | None,
    expected_versions: frozenset[int] | None = None,
) -> Goals:
    authz.ensure_may_act_for(caller, user_id)

    def work(cursor: Cursor) -> Goals:
        written = goal_events.write(cursor, user_id, None, caller.principal, request_id)
        if not written.prior_active:  # raising rolls the cleared event back
            raise GoalsNotFound()
        _check_version(expected_versions, written)
        return written.goals

    return database.run(work)


def get_goals(database: Database, caller: Identity, user_id: str) -> Goals:
    authz.ensure_may_act_for(caller, user_id)
    goals = database.single(lambda cursor: goal_events.read(cursor, user_id))
    if goals is None:
        raise GoalsNotFound()
    return goals


def goal_history(database: Database, caller: Identity, user_id: str, query: HistoryQuery) -> GoalHistory:
    """A page of the goals' events, oldest first, paged like the list."""
    authz.ensure_may_act_for(caller, user_id)
    after = paging.after_in_history("goal_history", query.cursor) if query.cursor else 0
    # One row more than asked tells whether another page follows.
    events = database.single(lambda cursor: goal_events.events(cursor, user_id, after, query.limit + 1))
    if not events:
        raise GoalsNotFound("The user never had goals")
    page, more = paging.fit([HistoryEntry.model_validate(event) for event in events], query.limit, query.units)
    next_cursor = paging.history_cursor("goal_history", page[-1].version) if more else None
    return GoalHistory(user_id=user_id, events=page, next_cursor=next_cursor)
