"""GET /api/progress/goals/{user_id}/history: a page of a user's goals events, oldest first."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, goals
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.goal import GoalHistory
from progress_tracking.models.log import HistoryQuery
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="A page of a user's goals events (set, changed, cleared), oldest first; next_cursor leads to the next",
    scope=authz.READ_PROGRESS,
    query=HistoryQuery,
    success=(200, GoalHistory),
    raises=(errors.Forbidden, errors.GoalsNotFound, errors.InvalidCursor),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, HistoryQuery)
    history = goals.goal_history(get_database(), caller, user_id, query)
    return api_edge.model_response(200, history, units=query.units)
