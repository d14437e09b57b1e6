"""POST /api/progress/logs/batch: up to 500 logs of one user, validated first and written in one transaction, each
item created, updated, restored or unchanged by the client record id rule."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, metric_catalog, upserts
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.upsert import BATCH_MAX_BODY_BYTES, LogsBatch, LogsUpserted
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation
from progress_tracking.user_service import get_user_service

OPERATION = Operation(
    summary="Upsert up to 500 logs of one user, all or nothing, with each item's outcome",
    scope=authz.WRITE_PROGRESS,
    body=LogsBatch,
    success=(200, LogsUpserted),
    raises=(
        errors.Forbidden,
        errors.UnknownUser,
        errors.ConcurrentChange,
        errors.IdempotencyKeyReused,
        errors.UserServiceUnavailable,
    ),
    request_headers=("Idempotency-Key",),
    response_headers=("Idempotent-Replayed",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    batch = api_edge.parse_body(event, LogsBatch, BATCH_MAX_BODY_BYTES, items=True)
    key = api_edge.idempotency_key(event)
    result = upserts.upsert_batch(
        get_database(), get_user_service(), caller, batch.user_id, batch.logs, event.request_id, key
    )
    headers = {}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
        logger.info("Idempotent retry answered with the original response")
    else:
        created = sum(1 for item in result.items if item.outcome == "created")
        logger.info("Logs upserted", extra={"items": len(result.items), "created_logs": created})
        metric_catalog.PROGRESS_LOGGED.record(created)
    return api_edge.model_response(200, LogsUpserted.of(batch.user_id, result.items), headers)
