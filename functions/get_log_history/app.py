"""GET /api/progress/log/{log_id}/history: a page of a log's events, oldest first (deleted logs included)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, logs
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.log import HistoryQuery, LogHistory
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="A page of a log's events, oldest first (deleted logs included); next_cursor leads to the next",
    scope=authz.READ_PROGRESS,
    query=HistoryQuery,
    success=(200, LogHistory),
    raises=(errors.LogNotFound, errors.InvalidCursor),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    log_id = api_edge.path_log_id(event)
    query = api_edge.parse_query(event, HistoryQuery)
    history = logs.log_history(get_database(), caller, log_id, query)
    return api_edge.model_response(200, history, units=query.units)
