"""GET /api/progress/summary/{user_id}: averages, totals, weight trend, workouts by kind and streaks."""

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from progress_tracking import authz, http, service
from progress_tracking.db import get_database
from progress_tracking.models import SummaryQuery


@http.endpoint
def lambda_handler(event: APIGatewayProxyEvent, context: LambdaContext) -> dict:
    caller = http.caller(event)
    authz.require_scope(caller, authz.READ_PROGRESS)
    user_id = http.path_user_id(event)
    query = http.parse_query(event, SummaryQuery)
    summary = service.summarize(get_database(), caller, user_id, query)
    return http.json_response(200, summary.model_dump(mode="json"))
