"""PATCH /api/progress/goals/{user_id}: change some of a user's goals and leave the rest (JSON Merge Patch, If-Match
honoured); appended as an event, as a PUT is."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, goals
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.goal import GoalsPatch, GoalsSet
from progress_tracking.observability import logger
from progress_tracking.openapi import MERGE_PATCH, Operation
from progress_tracking.user_service import get_user_service

OPERATION = Operation(
    summary="Change some goals and leave the rest (JSON Merge Patch: a value sets, null clears, absent stays)",
    scope=authz.WRITE_PROGRESS,
    body=GoalsPatch,
    body_media_types=(MERGE_PATCH, "application/json"),
    success=(200, GoalsSet),
    raises=(
        errors.Forbidden,
        errors.UnknownUser,
        errors.PreconditionFailed,
        errors.UserServiceUnavailable,
    ),
    request_headers=("If-Match",),
    response_headers=("ETag",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    body = api_edge.parse_body(event, GoalsPatch)
    written = goals.patch_goals(
        get_database(), get_user_service(), caller, user_id, body, event.request_id, api_edge.if_match(event)
    )
    logger.info("Goals patched", extra={"version": written.version})
    return api_edge.model_response(200, GoalsSet(goals=written), api_edge.etag(written))
