"""GET /api/progress/series/{user_id}: a user's logs in day, week or month buckets for charts (empty ones too)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, series
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.summary import Series, SeriesQuery
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="A user's logs in day, ISO-week or month buckets, empty buckets included (at most 400; as_of too)",
    scope=authz.READ_PROGRESS,
    query=SeriesQuery,
    success=(200, Series),
    raises=(errors.Forbidden,),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, SeriesQuery)
    buckets = series.series(get_database(), caller, user_id, query)
    return api_edge.model_response(200, buckets, units=query.units)
