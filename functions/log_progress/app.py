"""POST /api/progress/log: record a new progress log for a user the User Profile service knows."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, logs, metric_catalog, units
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.log import LogCreate, LogCreated
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation
from progress_tracking.user_service import get_user_service

OPERATION = Operation(
    summary="Log progress for a user the User Profile service knows",
    scope=authz.WRITE_PROGRESS,
    body=LogCreate,
    success=(201, LogCreated),
    raises=(
        errors.Forbidden,
        errors.UnknownUser,
        errors.ConcurrentChange,
        errors.IdempotencyKeyReused,
        errors.UserServiceUnavailable,
    ),
    request_headers=("Idempotency-Key",),
    response_headers=("Location", "ETag", "Idempotent-Replayed"),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    entry = api_edge.parse_body(event, LogCreate)
    key = api_edge.idempotency_key(event)
    logged = logs.log_progress(get_database(), get_user_service(), caller, entry, event.request_id, key)
    log = logged.log
    logger.thread_safe_append_keys(log_id=log.log_id)
    headers = {"Location": f"/api/progress/log/{log.log_id}", **api_edge.etag(log)}
    if logged.replayed:
        headers["Idempotent-Replayed"] = "true"
        logger.info("Idempotent retry answered with the original response")
    else:
        logger.info("Progress logged")
        metric_catalog.PROGRESS_LOGGED.record(1)
    answer = LogCreated(id=log.log_id, log=log)
    return api_edge.model_response(201, answer, headers, units=units.entered_in(log.weight_unit))
