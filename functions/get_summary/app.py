"""GET /api/progress/summary/{user_id}: averages, totals, weight trend, workouts by kind and streaks."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, summaries
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.summary import Summary, SummaryQuery
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="Summary of a user's progress (from/to: of a date range)",
    scope=authz.READ_PROGRESS,
    query=SummaryQuery,
    success=(200, Summary),
    raises=(errors.Forbidden,),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, SummaryQuery)
    summary = summaries.summarize(get_database(), caller, user_id, query)
    return api_edge.model_response(200, summary, units=query.units)
