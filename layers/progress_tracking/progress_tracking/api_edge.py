"""The HTTP edge of every handler: request parsing, the caller's identity, and domain error → response, in one place."""

from __future__ import annotations

import base64
import binascii
import functools
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

# pydantic's own: Powertools' `utilities.parser` would build every envelope model at cold start (~0.1 s).
from pydantic import BaseModel, ValidationError

from progress_tracking import authz, errors, idempotency, metric_catalog
from progress_tracking.authz import Identity
from progress_tracking.config import get_settings
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.error_body import ErrorBody
from progress_tracking.models.fields import (
    LOG_ID_RULE,
    RESERVED_USER_IDS,
    USER_ID_RULE,
    log_id_from_text,
    reserved_word,
    user_id_adapter,
)
from progress_tracking.models.goal import Goals
from progress_tracking.models.log import ProgressLog
from progress_tracking.observability import instrumented, logger
from progress_tracking.response_size import body_text
from progress_tracking.units import Units, in_units

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[ProxyEvent, LambdaContext], dict[str, Any]]

MAX_BODY_BYTES = 64 * 1024
_STRONG_ETAG = re.compile(r'"([1-9][0-9]{0,9})"')

# Most specific first: the first class in an error's MRO that is listed decides its status and code.
ERROR_RESPONSES: dict[type[errors.ProgressError], tuple[int, str]] = {
    errors.MalformedJson: (400, "malformed_json"),
    errors.InvalidCursor: (400, "invalid_cursor"),
    errors.InvalidChangeToken: (400, "invalid_change_token"),
    errors.InvalidRequest: (400, "validation_error"),
    errors.UnknownUser: (400, "unknown_user"),
    errors.TokenExpired: (401, "token_expired"),
    errors.MissingScope: (403, "insufficient_scope"),
    errors.Forbidden: (403, "forbidden"),
    errors.LogNotFound: (404, "log_not_found"),
    errors.GoalsNotFound: (404, "goals_not_found"),
    errors.InvalidRollback: (409, "invalid_rollback"),
    errors.ConcurrentChange: (409, "concurrent_change"),
    errors.ResyncRequired: (410, "resync_required"),
    errors.PreconditionFailed: (412, "precondition_failed"),
    errors.PayloadTooLarge: (413, "payload_too_large"),
    errors.IdempotencyKeyReused: (422, "idempotency_key_reused"),
    errors.UserServiceUnavailable: (503, "user_service_unavailable"),
    errors.DatabaseUnavailable: (503, "database_unavailable"),
    errors.DatabaseBusy: (503, "database_busy"),
}
# Every 503 tells the client when to try again (seconds); nothing was written, so a retry is safe.
RETRY_AFTER_SECONDS: dict[str, int] = {"database_busy": 1, "database_unavailable": 2, "user_service_unavailable": 2}


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": body_text(payload),
    }


def text_response(status: int, text: str, content_type: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A body that is not JSON (a CSV export): as it is, with its media type."""
    return {"statusCode": status, "headers": {"Content-Type": content_type, **(headers or {})}, "body": text}


def model_response(
    status: int, model: BaseModel, headers: dict[str, str] | None = None, units: Units = "metric"
) -> dict[str, Any]:
    """The model as JSON, its weights in `units` (a log's stored `weight_lb` is never answered as such)."""
    return json_response(status, in_units(model.model_dump(mode="json"), units), headers)


def status_and_code(error: type[errors.ProgressError]) -> tuple[int, str]:
    return next(ERROR_RESPONSES[cls] for cls in error.__mro__ if cls in ERROR_RESPONSES)


def error_response(error: errors.ProgressError) -> dict[str, Any]:
    status, code = status_and_code(type(error))
    body = ErrorBody(message=error.message, code=code, details=error.details or None)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS.get(code, 1))} if status == 503 else None
    return json_response(
        status, body.model_dump(mode="json", exclude={"details"} if body.details is None else None), headers
    )


def api_handler(handler: Handler) -> Handler:
    """Turns domain errors into their responses and anything unexpected into a logged 500 without a stack trace, and
    counts every answer by route and status class, with its time by route group (metric_catalog)."""

    @functools.wraps(handler)
    def wrapper(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            response = handler(event, context)
        except errors.ProgressError as error:
            response = error_response(error)
            logger.info("Request refused", extra={"status": response["statusCode"], "error": type(error).__name__})
            if isinstance(error, errors.InvalidRequest):
                metric_catalog.VALIDATION_FAILURES.record(1)
            status, code = status_and_code(type(error))
            if status == 503:
                metric_catalog.SERVICE_UNAVAILABLE.record(1, code=code)
        except Exception:
            logger.exception("Unhandled error")
            response = json_response(500, {"message": "Internal server error", "code": "internal_error"})
        response["headers"].update(_common_headers(event))
        _measure(event.route, response["statusCode"], (time.perf_counter() - started) * 1000)
        return response

    return wrapper


def _measure(route: str, status: int, elapsed_ms: float) -> None:
    metric_catalog.REQUESTS.record(1, route=route, status_class=metric_catalog.status_class(status))
    group = metric_catalog.ROUTE_GROUPS.get(route)
    if group is not None:  # always, behind API Gateway (only the template's routes reach a function)
        metric_catalog.REQUEST_LATENCY.record(elapsed_ms, route_group=group)


# Headers a browser script may read when CORS is on.
_EXPOSED_HEADERS = "ETag, Location, X-Request-Id, Idempotent-Replayed, X-Next-Cursor"


def _common_headers(event: ProxyEvent) -> dict[str, str]:
    headers = {"X-Request-Id": event.request_id or ""}
    origin = get_settings().cors_allow_origin
    if origin:
        headers.update(
            {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": _EXPOSED_HEADERS, "Vary": "Origin"}
        )
    return headers


def endpoint(handler: Handler) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """Everything an API handler shares: structured logs correlated by the API Gateway request id, metrics,
    SDK tracing when switched on, the proxy event read through `ProxyEvent`, and the error mapping of `api_handler`."""
    handled = api_handler(handler)

    def from_raw(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return handled(ProxyEvent(event), context)

    return instrumented(functools.wraps(handler)(from_raw), correlation_paths.API_GATEWAY_REST)


def caller(event: ProxyEvent) -> Identity:
    return authz.caller_from_context(event.authorizer_context)


def authorize(event: ProxyEvent, scope: str) -> Identity:
    """The caller the authorizer vouched for, once it is clear their token is unexpired and holds `scope`."""
    identity = caller(event)
    authz.ensure_unexpired(identity, time.time())
    authz.require_scope(identity, scope)
    return identity


# A batch's 400 names every bad item, each with at most this many of its problems, each field name cut to this many
# characters: a 1 MiB body of items full of short unknown fields (or one long one) would otherwise answer ~12 times
# its size, past Lambda's 6 MB.
PROBLEMS_PER_ITEM = 10
FIELD_NAME_CHARACTERS = 200


def request_text(event: ProxyEvent, max_bytes: int = MAX_BODY_BYTES) -> str:
    """The request body as text: base64 decoded when API Gateway encoded it, at most `max_bytes`, UTF-8."""
    raw = event.body or ""
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.MalformedJson() from exc
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        raise errors.PayloadTooLarge(f"The request body must not exceed {max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.MalformedJson("The request body is not valid UTF-8") from exc


def parse_body(event: ProxyEvent, model: type[M], max_bytes: int = MAX_BODY_BYTES, *, items: bool = False) -> M:
    """The body as `model`, or the error naming what is wrong. `items`: the body holds a list of items (a batch),
    whose problems are reported per item, at most PROBLEMS_PER_ITEM each."""
    text = request_text(event, max_bytes)
    if not text.strip():
        raise errors.MalformedJson("The request body is empty; a JSON object is expected")
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise _invalid(exc, per_item=PROBLEMS_PER_ITEM if items else None) from None


def parse_query(event: ProxyEvent, model: type[M]) -> M:
    try:
        return model.model_validate(event.query_string_parameters)
    except ValidationError as exc:
        raise _invalid(exc) from None


def path_user_id(event: ProxyEvent) -> str:
    value = event.path_parameters.get("user_id", "")
    if value in RESERVED_USER_IDS:
        raise errors.InvalidRequest(reserved_word(value), details=[{"field": "user_id", "message": "a reserved word"}])
    try:
        return user_id_adapter.validate_python(value)
    except ValidationError:
        raise errors.InvalidRequest(
            f"user_id in the path must be {USER_ID_RULE}", details=[{"field": "user_id", "message": USER_ID_RULE}]
        ) from None


def path_log_id(event: ProxyEvent) -> int:
    try:
        return log_id_from_text(event.path_parameters.get("log_id", ""))
    except ValueError as exc:  # pydantic's ValidationError included
        raise errors.InvalidRequest(
            f"log_id in the path must be {LOG_ID_RULE}", details=[{"field": "log_id", "message": LOG_ID_RULE}]
        ) from exc


def etag(resource: ProgressLog | Goals) -> dict[str, str]:
    """A log's (or goals') ETag is its version: the token If-Match sends back to say which version a change is
    based on."""
    return {"ETag": f'"{resource.version}"'}


def if_match(event: ProxyEvent) -> frozenset[int] | None:
    """The versions If-Match accepts; None when there is no condition (absent, or `*`).

    Strong comparison (RFC 9110): weak or malformed tags match nothing, so the change is refused with 412.
    """
    header = event.header("If-Match")
    if header is None or header.strip() == "*":
        return None
    tags = (_STRONG_ETAG.fullmatch(tag.strip()) for tag in header.split(","))
    return frozenset(int(tag.group(1)) for tag in tags if tag)


def idempotency_key(event: ProxyEvent) -> str | None:
    value = event.header(idempotency.HEADER)
    return None if value is None else idempotency.parse_key(value)


def _invalid(exc: ValidationError, per_item: int | None = None) -> errors.InvalidRequest:
    problems = exc.errors(include_url=False, include_input=False, include_context=False)
    if any(problem["type"] == "json_invalid" for problem in problems):
        return errors.MalformedJson()
    details = []
    per_place: dict[str, int] = {}
    left_out: dict[str, int] = {}
    for problem in problems:
        loc = problem["loc"]
        if per_item is not None and len(loc) >= 2 and isinstance(loc[1], int):
            item = f"{loc[0]}.{loc[1]}"
            per_place[item] = per_place.get(item, 0) + 1
            if per_place[item] > per_item:
                left_out[item] = per_place[item] - per_item
                continue
        field = ".".join(str(part) for part in loc) or None
        if per_item is not None and field is not None and len(field) > FIELD_NAME_CHARACTERS:
            field = field[:FIELD_NAME_CHARACTERS] + "…"
        message = "unknown field" if problem["type"] == "extra_forbidden" else problem["msg"]
        details.append({"field": field, "message": message.removeprefix("Value error, "), "type": problem["type"]})
    for item, more in left_out.items():
        details.append({"field": item, "message": f"and {more} more problems", "type": "too_many_problems"})
    unknown = [d["field"] for d in details if d["type"] == "extra_forbidden"]
    if unknown:
        return errors.InvalidRequest(f"Unknown fields: {', '.join(map(str, unknown))}", details=details)
    return errors.InvalidRequest("The request is invalid", details=details)
