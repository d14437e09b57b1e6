"""PUT /api/progress/log/{log_id}: change some of a log's fields (If-Match honoured); appended as an event."""

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import authz, http, service
from progress_tracking.db import get_database
from progress_tracking.models import LogUpdate, LogUpdated
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="Change some fields of a log (null clears one)",
    scope=authz.WRITE_PROGRESS,
    body=LogUpdate,
    success=(200, LogUpdated),
    errors=(400, 401, 403, 404, 409, 412, 413, 503),
    request_headers=("If-Match",),
    response_headers=("ETag",),
)


@http.endpoint
def lambda_handler(event: APIGatewayProxyEvent, context: LambdaContext) -> dict:
    caller = http.authorize(event, OPERATION.scope)
    log_id = http.path_log_id(event)
    logger.append_keys(log_id=log_id)
    update = http.parse_body(event, LogUpdate)
    log = service.update_log(get_database(), caller, log_id, update, http.request_id(event), http.if_match(event))
    logger.info("Progress log updated", extra={"version": log.version})
    return http.model_response(200, LogUpdated(updated_log=log), http.etag(log))
