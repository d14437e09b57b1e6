"""DELETE /api/progress/log/{log_id}: delete one log (If-Match honoured); a deletion event, the history stays."""

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from progress_tracking import authz, http, service
from progress_tracking.db import get_database
from progress_tracking.observability import logger


@http.endpoint
def lambda_handler(event: APIGatewayProxyEvent, context: LambdaContext) -> dict:
    caller = http.caller(event)
    authz.require_scope(caller, authz.DELETE_PROGRESS)
    log_id = http.path_log_id(event)
    logger.append_keys(log_id=log_id)
    service.delete_log(get_database(), caller, log_id, http.request_id(event), http.if_match(event))
    logger.info("Progress log deleted")
    return http.json_response(200, {"message": "Progress log deleted", "deleted_log_id": log_id})
