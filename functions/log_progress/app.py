"""POST /api/progress/log: record a new progress log for a user the User Profile service knows; with a client record
id, the versioned upsert (201 for a new log, 200 for an update, a restore or a no-op)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, logs, metric_catalog, units
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.log import LogCreate, LogCreated
from progress_tracking.models.upsert import LogUpserted
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation
from progress_tracking.user_service import get_user_service

OPERATION = Operation(
    summary="Log progress for a user the User Profile service knows",
    scope=authz.WRITE_PROGRESS,
    body=LogCreate,
    success=(201, LogCreated),
    other_successes=((200, LogUpserted),),
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
    elif logged.outcome == "created":
        logger.info("Progress logged")
        metric_catalog.PROGRESS_LOGGED.record(1)
    else:
        logger.info("Client record upserted", extra={"outcome": logged.outcome})
    # Answered in the units the weight was entered in, as every write answers a log.
    entered = units.entered_in(log.weight_unit)
    if logged.outcome == "created":
        return api_edge.model_response(201, LogCreated(id=log.log_id, log=log), headers, units=entered)
    return api_edge.model_response(200, LogUpserted.of(logged.outcome, logged.deleted, log), headers, units=entered)
