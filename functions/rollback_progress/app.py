"""POST /api/progress/log/{log_id}/rollback: restore the state of an earlier version as a new event."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, logs, units
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.log import LogRolledBack, RollbackRequest
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="Restore the state of an earlier version as a new version (undeletes a deleted log)",
    scope=authz.WRITE_PROGRESS,
    body=RollbackRequest,
    success=(200, LogRolledBack),
    raises=(errors.LogNotFound, errors.InvalidRollback, errors.ConcurrentChange, errors.PreconditionFailed),
    request_headers=("If-Match",),
    response_headers=("ETag",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    log_id = api_edge.path_log_id(event)
    logger.thread_safe_append_keys(log_id=log_id)
    request = api_edge.parse_body(event, RollbackRequest)
    log = logs.rollback(get_database(), caller, log_id, request.to_version, event.request_id, api_edge.if_match(event))
    logger.info("Progress log rolled back", extra={"to_version": request.to_version, "version": log.version})
    message = f"Progress log rolled back to version {request.to_version}"
    answer = LogRolledBack(message=message, log=log)
    return api_edge.model_response(200, answer, api_edge.etag(log), units=units.entered_in(log.weight_unit))
