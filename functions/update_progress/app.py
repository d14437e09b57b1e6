"""PUT /api/progress/log/{log_id}: change some of a log's fields (If-Match honoured); appended as an event."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, logs, units
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.log import LogUpdate, LogUpdated
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="Change some fields of a log (null clears one)",
    scope=authz.WRITE_PROGRESS,
    body=LogUpdate,
    success=(200, LogUpdated),
    raises=(errors.LogNotFound, errors.ConcurrentChange, errors.PreconditionFailed),
    request_headers=("If-Match",),
    response_headers=("ETag",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    log_id = api_edge.path_log_id(event)
    logger.thread_safe_append_keys(log_id=log_id)
    update = api_edge.parse_body(event, LogUpdate)
    log = logs.update_log(get_database(), caller, log_id, update, event.request_id, api_edge.if_match(event))
    logger.info("Progress log updated", extra={"version": log.version})
    answer = LogUpdated(updated_log=log)
    return api_edge.model_response(200, answer, api_edge.etag(log), units=units.entered_in(log.weight_unit))
