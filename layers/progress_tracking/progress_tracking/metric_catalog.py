"""The service's own metrics, declared once: the name, unit and dimensions of each, and the values a dimension takes.

The code records them only through `Metric.record`; the template's alarms and dashboard name them, and
tests/unit/test_alarm_metrics.py holds both to this list (an alarm on a metric nothing emits never fires; a metric
nothing watches only costs). Every metric also carries Powertools' `service` dimension (POWERTOOLS_SERVICE_NAME):
CloudWatch matches an alarm to a metric only on exactly the same dimension set, so the template's alarms name it too.

A metric without dimensions of its own goes into the invocation's EMF document, written when the invocation ends
(`observability.instrumented`); one with dimensions is written at once as a document of its own, since one EMF
document has one dimension set. Dimension values are few (routes and their groups, status classes, error codes),
never a user or log id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from progress_tracking.observability import metrics

SERVICE_DIMENSION = "service"

# Every route of the API (as template.yaml names it) and its group: requests are counted per route, latency is
# watched per group of routes that should answer alike. "read" is one round trip; "summary" folds a user's months
# (or, for a date range, their logs); "write" takes the user's lock and may ask the User Profile service.
ROUTE_GROUPS: Mapping[str, str] = {
    "GET /api/progress/{user_id}": "read",
    "GET /api/progress/log/{log_id}/history": "read",
    "GET /api/progress/goals/{user_id}": "read",
    "GET /api/progress/goals/{user_id}/history": "read",
    "GET /api/progress/changes/{user_id}": "read",
    "GET /api/progress/summary/{user_id}": "summary",
    "GET /api/progress/series/{user_id}": "summary",
    "POST /api/progress/log": "write",
    "POST /api/progress/logs/batch": "write",
    "PUT /api/progress/log/{log_id}": "write",
    "DELETE /api/progress/log/{log_id}": "write",
    "DELETE /api/progress/user/{user_id}/logs": "write",
    "POST /api/progress/log/{log_id}/rollback": "write",
    "PUT /api/progress/goals/{user_id}": "write",
    "PATCH /api/progress/goals/{user_id}": "write",
    "DELETE /api/progress/goals/{user_id}": "write",
    # Whole-history work, priced by the page (10,000 items) or the file (4 MB): an alarm of their own.
    "GET /api/progress/export/{user_id}": "portability",
    "POST /api/progress/import/{user_id}": "portability",
}
ROUTE_GROUP_NAMES = ("read", "summary", "write", "portability")
STATUS_CLASSES = ("2xx", "4xx", "5xx")
# The codes of the 503s (api_edge.RETRY_AFTER_SECONDS holds the same; a test compares them).
UNAVAILABLE_CODES = ("database_unavailable", "database_busy", "user_service_unavailable")


@dataclass(frozen=True)
class Metric:
    name: str
    unit: MetricUnit
    meaning: str
    # Each dimension besides `service`, with the values it may take.
    dimensions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def record(self, value: float, **dimensions: str) -> None:
        if dimensions.keys() != self.dimensions.keys():
            raise TypeError(f"{self.name} takes the dimensions {sorted(self.dimensions)}, not {sorted(dimensions)}")
        if not dimensions:
            metrics.add_metric(name=self.name, unit=self.unit, value=value)
            return
        alone = EphemeralMetrics()  # a document of its own, with exactly these dimensions (and `service`)
        alone.add_metric(name=self.name, unit=self.unit, value=value)
        for name, dimension_value in dimensions.items():
            alone.add_dimension(name=name, value=dimension_value)
        alone.flush_metrics(raise_on_empty_metrics=True)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


# --- The API (api_edge) ---------------------------------------------------------------------------------------------
REQUESTS = Metric(
    "Requests",
    MetricUnit.Count,
    "an API request answered by its function, by route and status class",
    {"route": tuple(ROUTE_GROUPS), "status_class": STATUS_CLASSES},
)
REQUEST_LATENCY = Metric(
    "RequestLatency",
    MetricUnit.Milliseconds,
    "how long the function took to answer (without API Gateway and the authorizer), by route group",
    {"route_group": ROUTE_GROUP_NAMES},
)
SERVICE_UNAVAILABLE = Metric(
    "ServiceUnavailable", MetricUnit.Count, "a 503, by its code (nothing was written)", {"code": UNAVAILABLE_CODES}
)
VALIDATION_FAILURES = Metric("ValidationFailures", MetricUnit.Count, "a request refused as invalid (400)")
PROGRESS_LOGGED = Metric("ProgressLogged", MetricUnit.Count, "a progress log created (not an idempotent replay)")
# --- The User Profile service (user_service) ------------------------------------------------------------------------
USER_SERVICE_LATENCY = Metric("UserServiceLatency", MetricUnit.Milliseconds, "one call of the User Profile service")
USER_SERVICE_FAILURES = Metric(
    "UserServiceFailures", MetricUnit.Count, "a User Profile call unreachable or answered with no yes or no"
)
# --- The authorizer (tokens, functions/authorizer) ------------------------------------------------------------------
JWKS_FETCHES = Metric("JwksFetches", MetricUnit.Count, "a fetch of the tenant's key set, whatever its outcome")
JWKS_FETCH_FAILURES = Metric(
    "JwksFetchFailures", MetricUnit.Count, "a key set fetch that failed or held no usable key (cached keys kept)"
)
AUTHORIZER_FAILURES = Metric(
    "AuthorizerFailures", MetricUnit.Count, "the authorizer failed for another reason than the token (denied: 401)"
)
# --- The outbox relay (functions/publish_events) --------------------------------------------------------------------
RELAY_LAG = Metric(
    "RelayLag",
    MetricUnit.Seconds,
    "age of the oldest committed event not yet published, 0 when none; written by every relay run",
)
DOMAIN_EVENTS_PUBLISHED = Metric("DomainEventsPublished", MetricUnit.Count, "domain events put on the bus")
DOMAIN_EVENTS_FAILED = Metric(
    "DomainEventsFailed", MetricUnit.Count, "domain events EventBridge kept refusing (the next run retries them)"
)
# --- The summary recompute (functions/recompute_summaries) ----------------------------------------------------------
RECOMPUTE_LAG = Metric(
    "RecomputeLag",
    MetricUnit.Seconds,
    "age of the oldest change no summary reflects yet, 0 when none; written by every recompute run",
)
SUMMARIES_RECOMPUTED = Metric("SummariesRecomputed", MetricUnit.Count, "users whose summary a run recomputed")
# --- UserDeleted (functions/user_deleted) ---------------------------------------------------------------------------
USER_DELETED_PROCESSED = Metric("UserDeletedProcessed", MetricUnit.Count, "a UserDeleted event acted on")
DELETED_USERS_ERASED = Metric(
    "DeletedUsersErased", MetricUnit.Count, "1 when a processed UserDeleted erased something, else 0"
)
USER_DELETED_REJECTED = Metric(
    "UserDeletedRejected", MetricUnit.Count, "a malformed UserDeleted event (retried, then dead-lettered)"
)

CATALOG: tuple[Metric, ...] = (
    REQUESTS,
    REQUEST_LATENCY,
    SERVICE_UNAVAILABLE,
    VALIDATION_FAILURES,
    PROGRESS_LOGGED,
    USER_SERVICE_LATENCY,
    USER_SERVICE_FAILURES,
    JWKS_FETCHES,
    JWKS_FETCH_FAILURES,
    AUTHORIZER_FAILURES,
    RELAY_LAG,
    DOMAIN_EVENTS_PUBLISHED,
    DOMAIN_EVENTS_FAILED,
    RECOMPUTE_LAG,
    SUMMARIES_RECOMPUTED,
    USER_DELETED_PROCESSED,
    DELETED_USERS_ERASED,
    USER_DELETED_REJECTED,
)
