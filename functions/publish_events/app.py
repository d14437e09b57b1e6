"""Scheduled: publish the domain events committed since the relay's checkpoint to EventBridge (the outbox relay).

The only function that loads boto3 (through progress_tracking.eventbridge).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import eventbridge, metric_catalog, outbox
from progress_tracking.config import get_settings
from progress_tracking.db import get_database
from progress_tracking.observability import instrumented, logger


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
    metric_catalog.DOMAIN_EVENTS_PUBLISHED.record(report.published)
    # Entries EventBridge kept refusing: the next run retries them (nothing after them is lost, and the lag grows).
    metric_catalog.DOMAIN_EVENTS_FAILED.record(report.failed)
    # Every run, busy or not: RelayNotRunningAlarm fires when none comes.
    metric_catalog.RELAY_LAG.record(outbox.seconds_behind(get_database()))
    return report.as_dict()
