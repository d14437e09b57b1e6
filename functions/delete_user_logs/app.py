"""DELETE /api/progress/user/{user_id}/logs: delete every live log of a user (deletion events; history stays).

With ?erase=true and admin:progress: erase every event and projection of the user for good (privacy requests).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, logs
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.log import DeleteUserLogsQuery, UserErased, UserLogsDeleted
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="Delete every log of a user (erase=true with admin:progress: erase all their data for good)",
    scope=authz.DELETE_PROGRESS,
    query=DeleteUserLogsQuery,
    success=(200, (UserLogsDeleted, UserErased)),
    raises=(errors.Forbidden,),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, DeleteUserLogsQuery)
    if query.erase:
        erased = logs.erase_user(get_database(), caller, user_id)
        logger.info("All progress data of a user erased", extra={"erased": erased})
        return api_edge.model_response(200, UserErased(erased=erased))
    deleted = logs.delete_user_logs(get_database(), caller, user_id, event.request_id)
    logger.info("All progress logs of a user deleted", extra={"deleted_log_count": deleted})
    return api_edge.model_response(200, UserLogsDeleted(deleted_log_count=deleted))
