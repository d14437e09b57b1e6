"""GET /api/progress/{user_id}: a page of a user's progress logs, oldest first."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, logs
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.log import ListQuery, ProgressPage
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="A page of a user's progress logs, oldest first (as_of: as they stood at that moment)",
    scope=authz.READ_PROGRESS,
    query=ListQuery,
    success=(200, ProgressPage),
    raises=(errors.Forbidden, errors.InvalidCursor),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, ListQuery)
    page = logs.list_progress(get_database(), caller, user_id, query)
    return api_edge.model_response(200, page, units=query.units)
