"""DELETE /api/progress/user/{user_id}/logs: delete every live log of a user (deletion events; history stays).

With ?erase=true and admin:progress: erase every event and projection of the user for good (privacy requests).
"""

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from progress_tracking import authz, http, service
from progress_tracking.db import get_database
from progress_tracking.models import DeleteUserLogsQuery
from progress_tracking.observability import logger


@http.endpoint
def lambda_handler(event: APIGatewayProxyEvent, context: LambdaContext) -> dict:
    caller = http.caller(event)
    authz.require_scope(caller, authz.DELETE_PROGRESS)
    user_id = http.path_user_id(event)
    query = http.parse_query(event, DeleteUserLogsQuery)
    if query.erase:
        erased = service.erase_user(get_database(), caller, user_id)
        logger.info("All progress data of a user erased", extra={"erased": erased})
        return http.json_response(200, {"message": "All progress data for user erased", "erased": erased})
    deleted = service.delete_user_logs(get_database(), caller, user_id, http.request_id(event))
    logger.info("All progress logs of a user deleted", extra={"deleted_log_count": deleted})
    return http.json_response(200, {"message": "All progress logs for user deleted", "deleted_log_count": deleted})
