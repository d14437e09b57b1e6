"""PUT /api/progress/goals/{user_id}: set or replace a user's goals (If-Match honoured); appended as an event."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, goals
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.goal import GoalsPut, GoalsSet
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation
from progress_tracking.units import Units
from progress_tracking.user_service import get_user_service

OPERATION = Operation(
    summary="Set or replace all of a user's goals (a goal left out is not set; PATCH changes some)",
    scope=authz.WRITE_PROGRESS,
    body=GoalsPut,
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
    body = api_edge.parse_body(event, GoalsPut)
    written = goals.set_goals(
        get_database(), get_user_service(), caller, user_id, body, event.request_id, api_edge.if_match(event)
    )
    logger.info("Goals set", extra={"version": written.version})
    # Answered in the units the target weight was given in.
    answer_units: Units = "imperial" if body.target_weight_lb is not None else "metric"
    return api_edge.model_response(200, GoalsSet(goals=written), api_edge.etag(written), units=answer_units)
