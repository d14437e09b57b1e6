"""GET /api/progress/goals/{user_id}: a user's goals with their version (ETag)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, goals
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.goal import Goals
from progress_tracking.models.log import UnitsQuery
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="A user's goals with their version",
    scope=authz.READ_PROGRESS,
    query=UnitsQuery,
    success=(200, Goals),
    raises=(errors.Forbidden, errors.GoalsNotFound),
    response_headers=("ETag",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, UnitsQuery)
    found = goals.get_goals(get_database(), caller, user_id)
    return api_edge.model_response(200, found, api_edge.etag(found), units=query.units)
