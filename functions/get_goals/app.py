"""GET /api/progress/goals/{user_id}: a user's goals with their version (ETag)."""

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import authz, goals, http
from progress_tracking.db import get_database
from progress_tracking.models import Goals
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="A user's goals with their version",
    scope=authz.READ_PROGRESS,
    success=(200, Goals),
    errors=(400, 401, 403, 404, 503),
    response_headers=("ETag",),
)


@http.endpoint
def lambda_handler(event: APIGatewayProxyEvent, context: LambdaContext) -> dict:
    caller = http.authorize(event, OPERATION.scope)
    user_id = http.path_user_id(event)
    found = goals.get_goals(get_database(), caller, user_id)
    return http.model_response(200, found, http.etag(found))
