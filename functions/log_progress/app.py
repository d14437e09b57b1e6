"""POST /api/progress/log: record a new progress log for a user the User Profile service knows."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from progress_tracking import authz, http, service
from progress_tracking.db import get_database
from progress_tracking.models import LogCreate
from progress_tracking.observability import logger, metrics
from progress_tracking.user_service import get_user_service


@http.endpoint
def lambda_handler(event: APIGatewayProxyEvent, context: LambdaContext) -> dict:
    caller = http.caller(event)
    authz.require_scope(caller, authz.WRITE_PROGRESS)
    entry = http.parse_body(event, LogCreate)
    key = http.idempotency_key(event)
    logged = service.log_progress(get_database(), get_user_service(), caller, entry, http.request_id(event), key)
    log = logged.log
    logger.append_keys(log_id=log.log_id)
    headers = {"Location": f"/api/progress/log/{log.log_id}", **http.etag(log)}
    if logged.replayed:
        headers["Idempotent-Replayed"] = "true"
        logger.info("Idempotent retry answered with the original response")
    else:
        logger.info("Progress logged")
        metrics.add_metric(name="ProgressLogged", unit=MetricUnit.Count, value=1)
    body = {"message": "Progress logged successfully", "id": log.log_id, "log": log.model_dump(mode="json")}
    return http.json_response(201, body, headers)
