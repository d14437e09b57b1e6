"""Scheduled: publish the domain events committed since the relay's checkpoint to EventBridge (the outbox relay).

The only function that loads boto3 (through progress_tracking.eventbridge).
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import eventbridge, outbox
from progress_tracking.config import get_settings
from progress_tracking.db import get_database
from progress_tracking.observability import instrumented, logger, metrics


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.thread_safe_append_keys(schedule_event_id=event.get("id"))
    settings = get_settings()
    report = outbox.relay(
        get_database(),
        eventbridge.get_client(),
        settings.event_bus_name,
        context.get_remaining_time_in_millis,
        follow_seconds=settings.outbox_follow_seconds,
    )
    metrics.add_metric(name="DomainEventsPublished", unit=MetricUnit.Count, value=report.published)
    # Alarm on this one: entries EventBridge kept refusing (the next run retries them; nothing after them is lost).
    metrics.add_metric(name="DomainEventsFailed", unit=MetricUnit.Count, value=report.failed)
    return report.as_dict()
