"""GET /api/progress/changes/{user_id}: a page of a user's changes after a token, in stream order."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, changes, errors
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.change import ChangesPage, ChangesQuery
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="A page of a user's log and goals changes after `since`, in stream order; next_token resumes",
    scope=authz.READ_PROGRESS,
    query=ChangesQuery,
    success=(200, ChangesPage),
    raises=(errors.Forbidden, errors.InvalidChangeToken, errors.ResyncRequired),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, ChangesQuery)
    return api_edge.model_response(200, changes.changes(get_database(), caller, user_id, query))
