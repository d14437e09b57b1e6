"""DELETE /api/progress/goals/{user_id}: clear a user's goals (If-Match honoured); a cleared event, history stays."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, goals
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.goal import GoalsCleared
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="Clear a user's goals (a cleared event; the history stays)",
    scope=authz.DELETE_PROGRESS,
    success=(200, GoalsCleared),
    raises=(errors.Forbidden, errors.GoalsNotFound, errors.PreconditionFailed),
    request_headers=("If-Match",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    cleared = goals.clear_goals(get_database(), caller, user_id, event.request_id, api_edge.if_match(event))
    logger.info("Goals cleared", extra={"version": cleared.version})
    return api_edge.model_response(200, GoalsCleared(user_id=user_id, version=cleared.version))
