"""EventBridge rule: the User Profile service deleted a user, so their progress is erased (as the admin erasure does).

A malformed event raises: the asynchronous invocation fails, Lambda retries it and then sends it to the on-failure
SQS queue (alarmed on). `UserDeletedRejected` counts them as they happen.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import metric_catalog, user_deleted
from progress_tracking.db import get_database
from progress_tracking.observability import instrumented, logger


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.thread_safe_append_keys(event_id=event.get("id"), event_source=event.get("source"))
    try:
        erased = user_deleted.erase_deleted_user(get_database(), event)
    except user_deleted.MalformedUserDeleted:
        metric_catalog.USER_DELETED_REJECTED.record(1)
        logger.exception("UserDeleted event rejected")
        raise
    done = any(erased.values())
    metric_catalog.USER_DELETED_PROCESSED.record(1)
    metric_catalog.DELETED_USERS_ERASED.record(int(done))
    logger.info("Deleted user's progress erased" if done else "Deleted user had no progress here", extra=erased)
    return {"erased": erased}
