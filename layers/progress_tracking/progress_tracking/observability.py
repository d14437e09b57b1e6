"""The Powertools singletons every handler and module logs, measures and traces through.

Their service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, which
the template sets for every function (and the local app and the tests take from the template).

Tracing: Lambda's active tracing (`Tracing: Active`) records every invocation's segment without any SDK in the
function. The X-Ray SDK (Powertools' Tracer: subsegments for the handler and for `http.client` calls) costs hundreds
of milliseconds of cold start and botocore with it, so it is loaded only when the template's SdkTracing parameter
turns it on (SDK_TRACING=true), and then on the first invocation rather than at import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.utilities.jmespath_utils import query

from progress_tracking import snapstart
from progress_tracking.config import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()

H = TypeVar("H", bound=Callable[..., Any])


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    """The Tracer, created on first use. Only http.client ("httplib", which the User Profile client uses) is patched:
    patching everything would also import boto3 and wrap psycopg2's connections."""
    from aws_lambda_powertools.tracing import Tracer

    return Tracer(patch_modules=["httplib"])


def traced(handler: H) -> H:
    """`capture_lambda_handler` when SDK tracing is on (decided on the first call, from the settings); otherwise the
    handler itself, and the X-Ray SDK is never imported."""
    chosen: list[Callable[..., Any]] = []

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        if not chosen:
            chosen.append(get_tracer().capture_lambda_handler(handler) if get_settings().sdk_tracing else handler)
        return chosen[0](event, context)

    return wrapper  # type: ignore[return-value]


def logged(handler: H, correlation_id_path: str | None = None) -> H:
    """Structured logs with the Lambda context (function name, request id, cold start) and the correlation id found at
    `correlation_id_path`, as keys of the invoking thread alone, cleared before and after each invocation.

    Keys a handler adds go the same way: `logger.thread_safe_append_keys`, never `append_keys`. Powertools'
    `inject_lambda_context` and `append_keys` keep keys shared by every thread of the process; Lambda runs one
    invocation at a time, but the local gateway runs handlers on request threads, where a request's lines then carried
    another request's function name, correlation id and log_id (and the relay's thread those of the last request).

    Every function's entry point goes through here during its init, so this is where SnapStart gets its hooks.
    """
    snapstart.register()
    first_invocation = [True]

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        cold_start, first_invocation[0] = first_invocation[0], False
        keys: dict[str, Any] = {"cold_start": cold_start, **vars(build_lambda_context_model(context))}
        if correlation_id_path:
            keys["correlation_id"] = query(envelope=correlation_id_path, data=event)
        logger.thread_safe_clear_keys()  # whatever an earlier invocation on this thread left
        logger.thread_safe_append_keys(**keys)
        try:
            return handler(event, context)
        finally:
            logger.thread_safe_clear_keys()

    return wrapper  # type: ignore[return-value]


def flushing_metrics(handler: H) -> H:
    """The invocation's EMF document written when it ends (as Powertools' `log_metrics` does), or nothing when it
    recorded nothing there: `log_metrics` warned "No application metrics to publish" after every such invocation (a
    read records only metrics with dimensions of their own, each written at once: metric_catalog)."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()

    return wrapper  # type: ignore[return-value]


def instrumented(handler: H, correlation_id_path: str | None = None) -> H:
    """What every function's entry point shares: structured logs with the Lambda context (and the correlation id found
    at `correlation_id_path`), keys of this invocation alone, metrics flushed, SDK tracing when switched on."""
    return logged(flushing_metrics(traced(handler)), correlation_id_path)
