"""DELETE /api/progress/log/{log_id}: delete one log (If-Match honoured); a deletion event, the history stays."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, logs
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.log import LogDeleted
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="Delete one log (a deletion event; rollback can restore it)",
    scope=authz.DELETE_PROGRESS,
    success=(200, LogDeleted),
    raises=(errors.LogNotFound, errors.ConcurrentChange, errors.PreconditionFailed),
    request_headers=("If-Match",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    log_id = api_edge.path_log_id(event)
    logger.thread_safe_append_keys(log_id=log_id)
    logs.delete_log(get_database(), caller, log_id, event.request_id, api_edge.if_match(event))
    logger.info("Progress log deleted")
    return api_edge.model_response(200, LogDeleted(deleted_log_id=log_id))
