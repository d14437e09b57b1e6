"""Scheduled: bring the summary projection up to date for every user whose stream moved after the checkpoint."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import metric_catalog, summaries
from progress_tracking.config import get_settings
from progress_tracking.db import get_batch_database
from progress_tracking.observability import instrumented, logger


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.thread_safe_append_keys(schedule_event_id=event.get("id"))
    report = summaries.recompute(
        get_batch_database(),
        context.get_remaining_time_in_millis,
        connections=get_settings().summary_recompute_connections,
    )
    metric_catalog.SUMMARIES_RECOMPUTED.record(report.users)
    # Every run, busy or not: RecomputeNotRunningAlarm fires when none comes.
    metric_catalog.RECOMPUTE_LAG.record(summaries.seconds_behind(get_batch_database()))
    return report.as_dict()
